#!/usr/bin/env perl
# Several ChatOn backends (conf.d/backends.conf.template): an upstream of
# two endpoints (two mocks), failover with proxy_next_upstream.  When one
# endpoint answers 429, answers 502, stalls past proxy_read_timeout or
# refuses connections, every request still succeeds (whole and streamed,
# byte-exact), the failing endpoint was tried once and then left out for
# fail_timeout (nginx 1.22 counts a 429 as a failure), the other served.
# When every endpoint answers 429 the client gets OpenAI's 429, after
# exactly proxy_next_upstream_tries (2) attempts.  Each case starts with a
# fresh nginx (no endpoint left out by an earlier case).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;

use ChatonTest;

my $TEMPLATE = "$ChatonTest::ROOT/conf.d/backends.conf.template";

sub port_of { ($_[0]->mock_base =~ /:(\d+)$/)[0] }

# endpoint B: a second mock (a harness object that starts only its mock)
my $ep_b = ChatonTest->new(no_start => 1);

# the gateway, with endpoint A (its own mock) first and B second
my $t = ChatonTest->new(
    template => $TEMPLATE,
    env      => { CHATON_UPSTREAM_SERVER_2 => '127.0.0.1:' . port_of($ep_b) },
    backend  => 'proxy_read_timeout 2s;');
my $ep_a = $t;    # its mock is endpoint A

sub reset_mocks { $_->mock_reset for @_ }

# a fresh nginx (its endpoints' failure counts are per nginx) and mocks
# without knobs or recordings
sub fresh {
    my ($gw, @mocks) = @_;
    $gw->stop_nginx;
    $gw->start_nginx;
    reset_mocks(@mocks);
}

sub statuses {
    my ($m) = @_;
    return [ map { $_->{status} // 'none' } @{ $m->mock_requests('chats') } ];
}

# requests, alternately whole and streamed; each must be answered by B,
# with B's content byte for byte
sub run_requests {
    my ($what, $n) = @_;
    my $served = scalar @{ $ep_b->mock_requests('chats') };
    for my $i (1 .. $n) {
        if ($i % 2) {
            my $res = $t->chat(messages => [{ role => 'user', content => "whole $i" }]);
            my $rec = $ep_b->mock_wait('chats', ++$served)->[-1];
            is($res->code, 200, "$what: whole request $i: 200")
                or diag($res->body);
            is($rec->{json}{messages}[0]{content}, "whole $i",
               "$what: whole request $i: served by B");
            is($res->json->{choices}[0]{message}{content}, $rec->{sent}{content},
               "$what: whole request $i: B's content, byte for byte");
        } else {
            my $s = $t->chat_stream(messages => [{ role => 'user', content => "stream $i" }]);
            my $rec = $ep_b->mock_wait('chats', ++$served)->[-1];
            is($s->{status}, 200, "$what: streamed request $i: 200");
            is($s->{events}[-1]{data}, '[DONE]', "$what: streamed request $i: [DONE]");
            is($rec->{json}{messages}[0]{content}, "stream $i",
               "$what: streamed request $i: served by B");
            ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
                "$what: streamed request $i: B's content, byte for byte");
        }
    }
    return $served;
}

# A answers 429 (sticky): retried on B

$ep_a->mock_knob({ route => 'chats', status => 429, times => 0 });
run_requests('A answers 429', 4);
is_deeply(statuses($ep_a), [429],
          'A answers 429: A was tried first, once, then left out for fail_timeout');
is_deeply(statuses($ep_b), [ (200) x 4 ], 'A answers 429: B served all 4');
ok(!(grep { !$_->{sig_ok} } @{ $ep_b->mock_requests('chats') }),
   'A answers 429: the retried call still carried a valid signature');
like($t->error_log, qr/upstream server temporarily disabled/,
     'A answers 429: the error log says A was taken out');

# A answers 502: retried on B

fresh($t, $ep_a, $ep_b);
$ep_a->mock_knob({ route => 'chats', status => 502, times => 0 });
run_requests('A answers 502', 2);
is_deeply(statuses($ep_a), [502], 'A answers 502: A was tried, once');
is_deeply(statuses($ep_b), [ (200) x 2 ], 'A answers 502: B served both');

# A stalls past proxy_read_timeout (2s here): retried on B

fresh($t, $ep_a, $ep_b);
$ep_a->mock_knob({ route => 'chats', stall_ms => 6000, times => 0 });
run_requests('A times out', 2);
is(scalar @{ $ep_a->mock_requests('chats') }, 1, 'A times out: A was tried, once');
is_deeply(statuses($ep_b), [ (200) x 2 ], 'A times out: B served both');
like($t->error_log, qr/upstream timed out/, 'A times out: the error log says so');

# every endpoint answers 429: after 2 attempts (proxy_next_upstream_tries),
# the client gets the 429 as OpenAI's error; a third endpoint C shows the
# bound (without it, nginx would try all three)

$t->stop_nginx;
reset_mocks($ep_a, $ep_b);
my $ep_c = ChatonTest->new(no_start => 1);
my $g = ChatonTest->new(
    template => $TEMPLATE, no_mock => 1,
    env      => {
        CHATON_UPSTREAM_SERVER   => '127.0.0.1:' . port_of($ep_a),
        CHATON_UPSTREAM_SERVER_2 => '127.0.0.1:' . port_of($ep_b),
        CHATON_AT_UPSTREAM       => 'server 127.0.0.1:' . port_of($ep_c) . ';',
    });
$_->mock_knob({ route => 'chats', status => 429, times => 0 }) for $ep_a, $ep_b, $ep_c;
my $attempts = sub { my $n = 0; $n += @{ $_->mock_requests('chats') } for $ep_a, $ep_b, $ep_c; $n };

ChatonTest::is_openai_error($g->chat, 429, 'all answer 429, whole: OpenAI 429',
                            code => 'rate_limit_exceeded');
is($attempts->(), 2, 'all answer 429, whole: exactly 2 attempts');
$g->stop_nginx;
$g->start_nginx;
my $s = $g->chat_stream;
is($s->{status}, 429, 'all answer 429, streamed: 429 (no 200 and SSE error)');
like($s->{body}, qr/"code":"rate_limit_exceeded"/, 'all answer 429, streamed: rate_limit_exceeded');
is($attempts->(), 4, 'all answer 429, streamed: exactly 2 more attempts');
$g->finish;
$ep_c->stop_mock;

# A refuses connections (stopped): retried on B

fresh($t, $ep_b);
$ep_a->stop_mock;
run_requests('A refuses connections', 2);
is_deeply(statuses($ep_b), [ (200) x 2 ], 'A refuses connections: B served both');
like($t->error_log, qr/connect\(\) failed \(111: Connection refused\)/,
     'A refuses connections: the error log says so');

$t->finish;
$ep_b->stop_mock;
done_testing;
