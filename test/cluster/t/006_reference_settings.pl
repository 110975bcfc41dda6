# docs/reference.md cannot drift from the server: on a server with the
# library preloaded (pgml_replication.database exists only then), every
# pgml_replication.* row of pg_settings has a row in the reference's
# settings table with the same default (boot_val, units converted) and
# context, and every row of the table is a real setting. The README's
# settings table names the same settings with the same default text, so
# both show one fallback list for hf_token, hf_cache_dir and hf_endpoint.
# Each function of schema pgml_repl is in the reference with its real
# argument list (names, types, defaults) and nothing else is.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = $ENV{PGML_REPL_TOP} or die 'PGML_REPL_TOP is not set (test/run sets it)';
my $reference = slurp_file("$top/docs/reference.md");
my $readme = slurp_file("$top/README.md");

my $node = PostgreSQL::Test::Cluster->new('reference');
$node->init;
# prefetch off keeps the worker idle; boot_val does not depend on it.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgml_replication'\npgml_replication.prefetch = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');

# The markdown rows of a table under $heading whose first cell is `name`:
# name => [cells after the first].
sub table_rows
{
	my ($text, $heading) = @_;
	my ($section) = $text =~ /^\Q$heading\E[^\n]*\n(.*?)(?=^#|\z)/ms;
	die "no section $heading" unless defined $section;
	my %rows;
	for my $line (split /\n/, $section)
	{
		next unless $line =~ /^\| `([a-z_]+)` \|(.*)\|\s*$/;
		my ($name, $rest) = ($1, $2);
		die "setting $name twice under $heading" if $rows{$name};
		$rows{$name} = [ map { s/^\s+|\s+$//gr } split /\|/, $rest ];
	}
	return \%rows;
}

# The value a default cell names: `value`, or "empty" for the empty string.
sub documented_value
{
	my ($cell) = @_;
	return '' if $cell =~ /^empty(?::|$)/;
	return $1 if $cell =~ /^`([^`]*)`/;
	return undef;
}

# A documented value in the setting's base unit (pg_settings.unit), as
# boot_val shows it: '16MB' with unit kB is 16384.
my %memory = (kB => 1, MB => 1024, GB => 1024**2, TB => 1024**3);
my %time = (ms => 1, s => 1000, min => 60_000, h => 3_600_000, d => 86_400_000);
sub in_base_unit
{
	my ($value, $unit) = @_;
	return $value if $unit eq '';
	my ($n, $u) = $value =~ /^(\d+)\s*([A-Za-z]*)$/ or return "not a number: $value";
	return $n if $u eq '';
	for my $table (\%memory, \%time)
	{
		return $n * $table->{$u} / $table->{$unit} if exists $table->{$u} && exists $table->{$unit};
	}
	return "unit $u does not convert to $unit";
}

my $documented = table_rows($reference, '## Settings');
my $readme_rows = table_rows($readme, '### Settings');
my %server;
for my $line (split /\n/, $node->safe_psql('postgres',
	"SELECT name, coalesce(unit, ''), context, boot_val FROM pg_settings WHERE name LIKE 'pgml\\_replication.%' ORDER BY name"))
{
	my ($name, $unit, $context, $boot) = split /\|/, $line, 4;
	$server{ $name =~ s/^pgml_replication\.//r } = { unit => $unit, context => $context, boot => $boot // '' };
}
cmp_ok(scalar(keys %server), '>=', 16, 'the preloaded library defines its settings');

is_deeply([ sort keys %$documented ], [ sort keys %server ],
	'docs/reference.md lists exactly the settings pg_settings shows');
for my $name (sort keys %server)
{
	my $row = $documented->{$name} or next;
	my ($type, $default, $range, $context) = @$row;
	my $value = documented_value($default);
	ok(defined $value, "$name: the reference's default names a value ($default)") or next;
	is(in_base_unit($value, $server{$name}{unit}), $server{$name}{boot},
		"$name: documented default $value is the server's ($server{$name}{boot} $server{$name}{unit})");
	is(($context =~ /^(\w+)/)[0], $server{$name}{context}, "$name: context $server{$name}{context}");
}

is_deeply([ sort keys %$readme_rows ], [ sort keys %$documented ], 'the README lists the same settings');
for my $name (sort keys %$readme_rows)
{
	next unless $documented->{$name};
	is($readme_rows->{$name}[0], $documented->{$name}[1], "$name: the README's default is the reference's, word for word");
}
like($documented->{hf_token}[1], qr/`HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the token file `\$HF_HOME\/token`/,
	'hf_token: the fallback list is the one the worker follows');
like($documented->{hf_endpoint}[1], qr/^empty: `HF_ENDPOINT`, else `https:\/\/huggingface\.co`$/,
	'hf_endpoint: empty, then HF_ENDPOINT, then the Hub');

# Functions: `name(arguments)` rows against pg_get_function_arguments, casts
# and OUT arguments left out as the reference writes them.
my %doc_functions;
while ($reference =~ /^\| `([a-z_]+)\(([^`]*)\)` \|/mg)
{
	$doc_functions{$1} = $2;
}
my %server_functions;
for my $line (split /\n/, $node->safe_psql('postgres',
	"SELECT p.proname, pg_get_function_arguments(p.oid) FROM pg_proc p
	  WHERE p.pronamespace = 'pgml_repl'::regnamespace ORDER BY 1"))
{
	my ($name, $args) = split /\|/, $line, 2;
	$args //= '';
	$args =~ s/::[a-z_ ]+(?:\[\])?//g;                 # 'main'::text -> 'main'
	$args = join(', ', grep { !/^OUT / } split /,\s*/, $args);
	$server_functions{$name} = $args;
}
is_deeply([ sort keys %doc_functions ], [ sort keys %server_functions ],
	'docs/reference.md lists exactly the functions of schema pgml_repl');
for my $name (sort keys %server_functions)
{
	next unless defined $doc_functions{$name};
	is($doc_functions{$name}, $server_functions{$name}, "$name: the reference shows its real arguments and defaults");
}

$node->stop;
done_testing();
