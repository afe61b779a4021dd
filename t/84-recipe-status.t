#!/usr/bin/env perl
# stub_status alongside the API (conf.d/status.conf): /status answers at
# once while chats are streaming, and counts them (Writing, Active
# connections); the streams are not disturbed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::IOLoop;
use Mojo::JSON qw(true);
use Mojo::Promise;
use Mojo::UserAgent;
use Time::HiRes qw(time);

use ChatonTest;

my $t = ChatonTest->new(
    server => "include $ChatonTest::ROOT/conf.d/status.conf;");

sub counters {
    my ($text) = @_;
    my %c;
    @c{qw(active)} = $text =~ /^Active connections: (\d+)/m;
    @c{qw(accepts handled requests)} = $text =~ /^\s*(\d+) (\d+) (\d+)\s*$/m;
    @c{qw(reading writing waiting)} =
        $text =~ /^Reading: (\d+) Writing: (\d+) Waiting: (\d+)/m;
    return \%c;
}

# idle: only the status request itself

my $res = $t->get('/status');
is($res->code, 200, 'idle: /status 200');
like($res->headers->content_type // '', qr{^text/plain}, 'idle: text/plain');
my $idle = counters($res->body);
is($idle->{writing}, 1, 'idle: Writing 1 (the status request)')
    or diag($res->body);

# three slow streams (about 2 s each), and /status in the middle of them

my $N = 3;
$t->mock_knob({ route => 'chats', times => $N, event_interval_ms => 200,
                split => 'event', text => 'one two three four five six seven' });

my $ua = Mojo::UserAgent->new(inactivity_timeout => 30, request_timeout => 60);
my (@streams, @ended, $status, $status_at);
my $t0 = time;
for my $i (1 .. $N) {
    my $tx = $ua->build_tx(POST => $t->url('/v1/chat/completions') => json => {
        model => 'gpt-4o', stream => true,
        messages => [{ role => 'user', content => "stream $i" }] });
    push @streams, $ua->start_p($tx)->then(sub { push @ended, time - $t0; $_[0] });
}
my $p = Mojo::Promise->timer(0.8)->then(sub {
    $ua->get_p($t->url('/status'));
})->then(sub { $status = $_[0]->res; $status_at = time - $t0 });
Mojo::Promise->all(@streams, $p)->wait;

is($status && $status->code, 200, 'during the streams: /status 200');
ok(defined $status_at && @ended == $N && $status_at < (sort { $a <=> $b } @ended)[0],
   sprintf('during the streams: answered at %.2fs, before the first stream ended (%.2fs)',
           $status_at // -1, (sort { $a <=> $b } @ended)[0] // -1));
my $busy = counters($status ? $status->body : '');
is($busy->{writing}, $N + 1, "during the streams: Writing @{[ $N + 1 ]} ($N streams and the status request)")
    or diag($status ? $status->body : 'no answer');
ok(($busy->{active} // 0) >= $N + 1, "during the streams: Active connections >= @{[ $N + 1 ]}");

my $i = 0;
for my $sp (@streams) {
    $i++;
    $sp->then(sub {
        my $tx = shift;
        my @ev = ChatonTest::parse_sse($tx->res->body);
        is($tx->res->code, 200, "stream $i: 200");
        is(ChatonTest::stream_text(\@ev), 'one two three four five six seven',
           "stream $i: the whole text, undisturbed");
        is($ev[-1]{data}, '[DONE]', "stream $i: [DONE]");
    })->wait;
}

# afterwards: the requests counted, nothing writing but the status request

my $after;
for (1 .. 40) {    # nginx ends a request just after its last bytes left
    $after = counters($t->get('/status')->body);
    last if ($after->{writing} // 0) == 1;
    Time::HiRes::sleep(0.05);
}
is($after->{writing}, 1, 'after: Writing back to 1');
ok(defined $after->{requests} && $after->{requests} >= $idle->{requests} + $N + 1,
   "after: the requests counter grew by the streams and the status requests");

$t->finish;
done_testing;
