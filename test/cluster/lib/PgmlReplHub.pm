# The test Hub (test/hub/hub_server.py) for cluster tests: start it on port 0
# with a bounded wait for its READY line, set faults, read its request log,
# stop it. Loopback only.
package PgmlReplHub;

use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time sleep);

# PgmlReplHub->start(cache => DIR, gated => [ 'org/name' ], token => SECRET,
#   args => [ more hub_server.py arguments, e.g. '--tree-page-size', 2 ])
sub start
{
	my ($class, %opts) = @_;
	my $top = $ENV{PGML_REPL_TOP} or die "PGML_REPL_TOP is not set";
	my @cmd = ('/usr/bin/python3', "$top/test/hub/hub_server.py", '--cache', $opts{cache}, '--port', '0');
	push @cmd, '--gated', $_ for @{ $opts{gated} // [] };
	push @cmd, '--token', $opts{token} if defined $opts{token};
	push @cmd, @{ $opts{args} // [] };
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(\@cmd, '<', \$in, '>', \$out, '2>', \$err);
	my $deadline = time() + 20;
	while ($out !~ /^READY (\d+) (\d+)$/m)
	{
		if (time() > $deadline || !$h->pumpable)
		{
			$h->kill_kill;
			die "test hub did not start: $out $err";
		}
		$h->pump_nb;
		sleep 0.05;
	}
	$out =~ /^READY (\d+) (\d+)$/m;
	my $self = bless { handle => $h, port => $1, cdn_port => $2, out => \$out, err => \$err,
		http => HTTP::Tiny->new(timeout => 10) }, $class;
	return $self;
}

sub port { $_[0]{port} }
sub cdn_port { $_[0]{cdn_port} }
sub url { 'http://127.0.0.1:' . $_[0]{port} }

# Replaces the fault list: [ { match => ..., kind => ..., times => ... }, ... ]
sub faults
{
	my ($self, $rules) = @_;
	my $r = $self->{http}->post($self->url . '/_control/faults',
		{ content => encode_json($rules), headers => { 'Content-Type' => 'application/json' } });
	die "setting hub faults failed: $r->{status} $r->{content}" unless $r->{success};
	return;
}

# No faults, empty log.
sub reset
{
	my ($self) = @_;
	my $r = $self->{http}->post($self->url . '/_control/reset');
	die "hub reset failed: $r->{status}" unless $r->{success};
	return;
}

# Changes the link settings at run time (test/hub/hub_links.py SETTINGS,
# e.g. { resolve_429_window => 10 }); the counts and the 429 window start over.
sub settings
{
	my ($self, $changes) = @_;
	my $r = $self->{http}->post($self->url . '/_control/settings',
		{ content => encode_json($changes), headers => { 'Content-Type' => 'application/json' } });
	die "setting hub link settings failed: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

# The request counts (GET /_stats): requests, resolve_requests, limited,
# by_path, by_status, window { start, end }, now.
sub stats
{
	my ($self) = @_;
	my $r = $self->{http}->get($self->url . '/_stats');
	die "reading the hub stats failed: $r->{status}" unless $r->{success};
	return decode_json($r->{content});
}

# The request log: [ { listener, method, path, range, auth, host, time, status }, ... ]
sub log
{
	my ($self) = @_;
	my $r = $self->{http}->get($self->url . '/_control/log');
	die "reading the hub log failed: $r->{status}" unless $r->{success};
	return decode_json($r->{content});
}

sub stop
{
	my ($self) = @_;
	my $h = $self->{handle} or return;
	$h->signal('TERM') if $h->pumpable;
	my $deadline = time() + 5;
	while ($h->pumpable && time() < $deadline) { $h->pump_nb; sleep 0.05; }
	$h->kill_kill if $h->pumpable;
	eval { $h->finish };
	delete $self->{handle};
	return;
}

sub DESTROY { $_[0]->stop }

1;

