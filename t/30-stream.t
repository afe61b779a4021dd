#!/usr/bin/env perl
# Streams over time: the wait for a slow backend, heartbeats, slow and
# vanishing clients, long streams in bounded memory.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Mojo::JSON qw(decode_json encode_json true false);
use MIME::Base64 qw(decode_base64);

use ChatonTest;

my $t = ChatonTest->new(
    api => "chaton_stream_wait 1s;\nchaton_heartbeat 700ms;",
    backend => 'proxy_read_timeout 8s;');

# a backend that takes long to answer: 200 and comments after the wait

$t->mock_knob({ route => 'chats', stall_ms => 2600, text => 'late but fine' });
my $s = $t->chat_stream;
my @c = @{ $s->{chunks} };
is($s->{status}, 200, 'slow backend: 200');
like($c[0]{data}, qr/^: keep-alive\n\n/, 'slow backend: a comment first');
ok($c[0]{t} > 0.8 && $c[0]{t} < 2.0,
   sprintf('slow backend: the first bytes after the wait (%.2fs)', $c[0]{t}));
my @beats = grep { exists $_->{comment} } @{ $s->{events} };
ok(@beats >= 2, scalar(@beats) . ' heartbeats while waiting');
is(ChatonTest::stream_text($s->{events}), 'late but fine',
   'slow backend: then the answer');
is($s->{events}[-1]{data}, '[DONE]', 'slow backend: [DONE]');
is(scalar(grep { $_->{json} && $_->{json}{choices}[0]{delta}{role} }
          @{ $s->{events} }), 1, 'slow backend: role once');

# an error after the 200 went out arrives as an event

$t->mock_knob({ route => 'chats', stall_ms => 1600, status => 429,
                headers => { 'Retry-After' => '5' } });
$s = $t->chat_stream;
is($s->{status}, 200, 'late error: the 200 had gone');
is($s->{events}[-1]{json}{error}{code}, 'rate_limit_exceeded',
   'late error: an error event');
ok(!(grep { ($_->{data} // '') eq '[DONE]' } @{ $s->{events} }),
   'late error: no [DONE]');

# a quick error is a real status even with the wait configured

$t->mock_knob({ route => 'chats', status => 500 });
is($t->chat(stream => true)->code, 502, 'quick error: a real 502');

# heartbeats during a slow stream

$t->mock_knob({ route => 'chats', split => 'event', event_interval_ms => 1600,
                events => ['{"choices":[{"delta":{"content":"a "}}]}',
                           '{"choices":[{"delta":{"content":"b"}}]}'] });
$s = $t->chat_stream;
@beats = grep { exists $_->{comment} } @{ $s->{events} };
ok(@beats >= 2, scalar(@beats) . ' heartbeats between slow events');
is(ChatonTest::stream_text($s->{events}), 'a b', 'slow stream: text intact');

# output pushes the heartbeat back: deltas 400ms apart for 3s get none,
# though the wait (1s) and the heartbeat (700ms) pass again and again

my @deltas = map { '{"choices":[{"delta":{"content":"' . $_ . ' "}}]}' }
             'a' .. 'h';
$t->mock_knob({ route => 'chats', split => 'event', event_interval_ms => 400,
                events => \@deltas });
$s = $t->chat_stream;
@beats = grep { exists $_->{comment} } @{ $s->{events} };
is(scalar @beats, 0, 'output 400ms apart: no heartbeat');
is(ChatonTest::stream_text($s->{events}), 'a b c d e f g h ',
   'output 400ms apart: the whole text');

# and the silence is counted from the last output: events at about 0,
# 0.3 and 0.6s, then none for 2s; the wait's timer (1s) finds output
# 0.4s old, so the first beat is a heartbeat after it (1.3s), not at 1s

$t->mock_knob({ route => 'chats', split => 'event', event_interval_ms => 300,
                events => [@deltas[0 .. 5]], stall_after_events => 3,
                stall_body_ms => 2000 });
$s = $t->chat_stream;
my ($first) = grep { $_->{data} =~ /^: keep-alive/m } @{ $s->{chunks} };
ok($first && $first->{t} > 1.2 && $first->{t} < 1.7,
   sprintf('a pause: the first beat a heartbeat after the last output '
           . '(%.2fs)', $first ? $first->{t} : -1));
@beats = grep { exists $_->{comment} } @{ $s->{events} };
ok(@beats >= 2, scalar(@beats) . ' heartbeats in the pause');
is(ChatonTest::stream_text($s->{events}), 'a b c d e f ',
   'a pause: the whole text');

# whole answers never get comments

$t->mock_knob({ route => 'chats', stall_ms => 1500, text => 'whole' });
my $res = $t->chat;
is($res->code, 200, 'whole after a wait: 200');
is($res->json->{choices}[0]{message}{content}, 'whole',
   'whole after a wait: JSON only');

# HTTP/1.0: no chunked encoding, the end is the connection's

my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port)
    or die $!;
my $body = encode_json({ model => 'gpt-4o', stream => true,
                         messages => [{ role => 'user', content => 'hi' }] });
print $sock "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\n"
    . "Content-Type: application/json\r\nContent-Length: "
    . length($body) . "\r\n\r\n$body";
my $raw = do { local $/; <$sock> };
my ($head, $rest) = split /\r\n\r\n/, $raw, 2;
like($head, qr{^HTTP/1\.1 200}, 'HTTP/1.0: 200');
unlike($head, qr/Transfer-Encoding/i, 'HTTP/1.0: not chunked');
my @ev = ChatonTest::parse_sse($rest);
is($ev[-1]{data}, '[DONE]', 'HTTP/1.0: the whole stream');
my $rec = $t->mock_requests('chats')->[-1];
is(ChatonTest::stream_text(\@ev), $rec->{sent}{content},
   'HTTP/1.0: byte-exact');

# a slow client: the backend is paced by the client (nginx holds back what
# the client has not taken, rather than buffering the stream), and the
# stream arrives whole.  The stream is larger than what the sockets between
# can hold, so the backend can only finish once the client reads again.

$t->mock_knob({ route => 'chats', deltas => 60000, split => 'none',
                delay_ms => 0 });
$sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port)
    or die $!;
my $t0 = time;
print $sock "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    . "Connection: close\r\nContent-Type: application/json\r\n"
    . "Content-Length: " . length($body) . "\r\n\r\n$body";
my ($got, $reads) = ('', 0);
while (sysread($sock, my $buf, 65536)) {
    $got .= $buf;
    sleep 1.5 if ++$reads == 1;
}
($head, $rest) = split /\r\n\r\n/, $got, 2;
@ev = ChatonTest::parse_sse(dechunk($rest));
$rec = $t->mock_wait('chats', scalar @{ $t->mock_requests('chats') })->[-1];
is($ev[-1]{data}, '[DONE]', 'slow client: complete');
ChatonTest::is_sent_content($rec, ChatonTest::stream_text(\@ev),
                             'slow client: every byte, in order');
ok($rec->{t_end} - $t0 > 1.4,
   sprintf('slow client: the backend was paced by the client (it finished '
           . 'at %.2fs, the client paused 1.5s)', $rec->{t_end} - $t0));

sub dechunk {
    my ($s) = @_;
    my $out = '';
    while ($s =~ s/^([0-9a-fA-F]+)\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr($s, 0, $n, '');
        $s =~ s/^\r\n//;
    }
    return $out;
}

# [DONE] goes out at once even while the backend keeps the response open
# (the last output waits for the end of the response only when the
# backend's answer is in whole)

$t->mock_knob({ route => 'chats', deltas => 5 });
$t->chat_stream;
my $units = () = decode_base64($t->mock_requests('chats')->[-1]{sent}{raw_b64})
                 =~ /^data:/mg;
$t->mock_knob({ route => 'chats', deltas => 5, stall_after_events => $units,
                stall_body_ms => 2000 });
$s = $t->chat_stream;
my ($done) = grep { $_->{data} =~ /data: \[DONE\]/ } @{ $s->{chunks} };
is($s->{events}[-1]{data}, '[DONE]', 'backend lingers after [DONE]: [DONE]');
ok($done && $done->{t} < 1.0,
   sprintf('backend lingers after [DONE]: [DONE] at %.2fs, before the '
           . 'backend ends its response at 2s', $done ? $done->{t} : 99));

# a client that goes away mid-stream: the backend call is torn down

$t->mock_knob({ route => 'chats', split => 'event', event_interval_ms => 200,
                deltas => 50 });
my $n = @{ $t->mock_requests('chats') };
my $ua = Mojo::UserAgent->new;
my $tx = $ua->build_tx(POST => $t->url('/v1/chat/completions') => json =>
    { model => 'gpt-4o', stream => true,
      messages => [{ role => 'user', content => 'bye' }] });
my $seen = 0;
$tx->res->content->unsubscribe('read')->on(read => sub {
    $seen++;
    $ua->ioloop->stream($tx->connection)->close if $seen == 3;
});
$ua->start($tx);
$rec = $t->mock_wait('chats', $n + 1)->[-1];
ok(defined $rec->{t_end} && $rec->{t_end} - $rec->{t} < 5,
   sprintf('client abort: the backend call ended after %.1fs, not after '
           . 'the whole 10s stream', ($rec->{t_end} // 99) - $rec->{t}));
sleep 0.3;
like($t->error_log, qr/client prematurely closed connection|499/,
     'client abort: nginx noticed');
is($t->chat->code, 200, 'client abort: the next request is fine');

$t->finish;

# heartbeats off (chaton_heartbeat 0) with a wait: a stream whose output
# has begun gets no comment line when the wait ends, nor after

my $off = ChatonTest->new(api => "chaton_stream_wait 1s;\nchaton_heartbeat 0;",
                          backend => 'proxy_read_timeout 8s;');
$off->mock_knob({ route => 'chats', split => 'event',
                  event_interval_ms => 300, events => [@deltas[0 .. 3]],
                  stall_after_events => 2, stall_body_ms => 1500 });
$s = $off->chat_stream;
@beats = grep { exists $_->{comment} } @{ $s->{events} };
is(scalar @beats, 0, 'heartbeats off: no comment in a pause past the wait');
is(ChatonTest::stream_text($s->{events}), 'a b c d ',
   'heartbeats off: the whole text');
$off->finish;

done_testing;
