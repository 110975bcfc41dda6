# A loopback S3 endpoint for pgBackRest tests: s3rver (npm, pinned) over TLS
# with a self-signed certificate for 127.0.0.1, one bucket "pgbackrest".
#
#   my $s3 = PgmlReplS3->start or plan skip_all => $PgmlReplS3::skip_reason;
#   pgbackrest_conf($node, repo_lines => $s3->repo_lines);
#   ... $s3->stop (also runs when $s3 goes out of scope)
package PgmlReplS3;

use strict;
use warnings;

use File::Path qw(make_path);
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our $S3RVER_VERSION = '3.7.1';
our $skip_reason = '';

# The s3rver launcher: test/tools of the checkout when it is installed there
# (npm install --prefix test/tools s3rver@3.7.1), else an npm install into a
# folder this user can write. Returns undef (and sets $skip_reason) when npm
# cannot install it.
sub s3rver_bin
{
	my $top = $ENV{PGML_REPL_TOP} // '.';
	my @prefixes = ("$top/test/tools", ($ENV{TMPDIR} // '/tmp') . "/pgml_repl_tools.$<");
	for my $prefix (@prefixes)
	{
		my $bin = "$prefix/node_modules/.bin/s3rver";
		return $bin if -x $bin && installed_version($prefix) eq $S3RVER_VERSION;
	}
	for my $prefix (@prefixes)
	{
		make_path($prefix) unless -d $prefix;
		next unless -w $prefix;
		my ($out, $err) = ('', '');
		my $ok = eval {
			IPC::Run::run(
				[ 'npm', 'install', '--prefix', $prefix, '--no-audit', '--no-fund',
				  "s3rver\@$S3RVER_VERSION" ],
				'>', \$out, '2>', \$err, IPC::Run::timeout(300),
				init => sub { $ENV{npm_config_cache} = "$prefix/.npm-cache"; });
		};
		my $bin = "$prefix/node_modules/.bin/s3rver";
		return $bin if $ok && -x $bin;
		$skip_reason = "npm could not install s3rver $S3RVER_VERSION: " . (split /\n/, ($err || $@ || 'unknown error'))[-1];
	}
	$skip_reason ||= 'no writable folder for s3rver';
	return undef;
}

sub installed_version
{
	my ($prefix) = @_;
	open my $fh, '<', "$prefix/node_modules/s3rver/package.json" or return '';
	local $/;
	my $json = <$fh>;
	return $json =~ /"version"\s*:\s*"([^"]+)"/ ? $1 : '';
}

sub start
{
	my ($class) = @_;
	my $bin = s3rver_bin() or return undef;
	my $dir = PostgreSQL::Test::Utils::tempdir('s3rver');
	make_path("$dir/data");
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
		  '-keyout', "$dir/key.pem", '-out', "$dir/cert.pem", '-subj', '/CN=127.0.0.1',
		  '-addext', 'subjectAltName=IP:127.0.0.1' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(60))
	  or die "openssl could not make a certificate: $err";

	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $log = "$dir/s3rver.log";
	my $h = IPC::Run::start(
		[ $bin, '--key', "$dir/key.pem", '--cert', "$dir/cert.pem", '--no-vhost-buckets',
		  '--configure-bucket', 'pgbackrest', '-d', "$dir/data", '-a', '127.0.0.1', '-p', $port ],
		'>', $log, '2>&1');
	my $self = bless { h => $h, port => $port, dir => $dir, log => $log }, $class;

	# Up when it accepts a TCP connection; give it 30 s.
	for (1 .. 300)
	{
		my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 1);
		if ($sock) { close $sock; return $self; }
		last unless $h->pumpable;
		usleep(100_000);
	}
	$self->stop;
	die "s3rver did not start on 127.0.0.1:$port:\n" . PostgreSQL::Test::Utils::slurp_file($log);
}

sub port { $_[0]{port} }

# pgBackRest [global] lines for this endpoint (key and secret are s3rver's
# fixed ones).
sub repo_lines
{
	my ($self, %opts) = @_;
	my $path = $opts{path} // '/repo';
	return "repo1-type=s3\n"
	  . "repo1-path=$path\n"
	  . "repo1-s3-endpoint=127.0.0.1\n"
	  . "repo1-storage-port=$self->{port}\n"
	  . "repo1-s3-uri-style=path\n"
	  . "repo1-s3-verify-tls=n\n"
	  . "repo1-s3-region=us-east-1\n"
	  . "repo1-s3-bucket=pgbackrest\n"
	  . "repo1-s3-key=S3RVER\n"
	  . "repo1-s3-key-secret=S3RVER\n";
}

# s3rver takes more than a second to stop after TERM; KILL after 10 s.
sub stop
{
	my ($self) = @_;
	my $h = delete $self->{h} or return;
	eval { $h->kill_kill(grace => 10); };
	return;
}

sub DESTROY { $_[0]->stop; }

1;
