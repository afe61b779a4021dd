#!/usr/bin/env perl
# Bursts (issue 16): when the backend sends faster than one read takes, the
# output of the reads that filled the upstream's buffer is written to the
# client together, up to chaton_coalesce_size (0: each read's at once);
# what is kept goes out at the end of the event loop's turn at the latest,
# so no byte waits for the backend's next.  Read from the module's debug
# log (debug_http): "chaton output kept" (kept for the next read's),
# "chaton output sent" (a write to the client's way), "chaton output
# flush" (the end of the loop's turn sent what was kept).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Socket;
use Time::HiRes qw(time sleep);

use ChatonTest;

# a backend of exact bytes (a child process): the response's head and the
# first events fill the upstream's 4 KiB buffer exactly twice, then the
# backend is silent for STALL seconds, then sends the rest and closes

use constant STALL => 1.5;

my $raw = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                LocalPort => 0, Proto => 'tcp',
                                ReuseAddr => 1) or die "listen: $!";
my $raw_port = $raw->sockport;

# ChatOn's deltas, as long as theirs (the module's chunks are no longer)
sub event {
    'data: {"id":"chatcmpl-270a4b05af9e450cba6f67c677437","object":'
    . '"chat.completion.chunk","created":1795567199,"model":'
    . '"gpt-4o-2024-08-06","system_fingerprint":"fp_b1","choices":'
    . '[{"index":0,"delta":{"content":"' . $_[0] . '"},"logprobs":null,'
    . '"finish_reason":null}]}' . "\n\n";
}

my $head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
         . "Connection: close\r\n\r\n";

# events of "wN " up to the last one, whose text fills to 8192 bytes
my ($pre, $pre_text) = ('', '');
for (my $i = 1; length($head . $pre . event("w$i ")) + 400 < 8192; $i++) {
    $pre .= event("w$i ");
    $pre_text .= "w$i ";
}
my $fill = 8192 - length($head . $pre . event('END'));
my $last = 'END' . ('x' x $fill);
$pre .= event($last);
$pre_text .= $last;
die 'the first bytes are not 8192' unless length($head . $pre) == 8192;

my $post = event(' after') . "data: [DONE]\n\n";

# a short answer (path /short/...): it fills one read exactly, and ends in
# the next
my $short = '';
my $short_text = '';
for (my $i = 1; length($head . $short . event("s$i ")) + 400 < 4096; $i++) {
    $short .= event("s$i ");
    $short_text .= "s$i ";
}
my $short_last = 'S' . ('y' x (4096 - length($head . $short . event('S'))));
$short .= event($short_last);
$short_text .= $short_last;
die 'the short answer is not 4096 bytes' unless length($head . $short) == 4096;

my $child = fork // die "fork: $!";
if ($child == 0) {
    while (my $c = $raw->accept) {
        sysread($c, my $req, 65536);        # its request line only read
        if ($req =~ m{^POST /short/}) {
            syswrite($c, $head . $short . event(' end') . "data: [DONE]\n\n");
            close $c;
            next;
        }
        syswrite($c, $head . $pre);
        sleep STALL;
        syswrite($c, $post);
        close $c;
    }
    exit 0;
}
close $raw;

my $conf_d = "$ChatonTest::ROOT/conf.d";

my $t = ChatonTest->new(
    log_level => 'debug_http',
    server => <<"CONF");
location /off/v1/ {
    chaton;
    chaton_coalesce_size 0;
}

location /raw/v1/ {
    chaton;
    chaton_backend  /raw-backend/;
}

location /raw-off/v1/ {
    chaton;
    chaton_backend  /raw-backend/;
    chaton_coalesce_size 0;
}

location /raw-backend/ {
    internal;
    proxy_pass  http://127.0.0.1:$raw_port/;
    include     $conf_d/chaton-backend.conf;
}

location /short/v1/ {
    chaton;
    chaton_backend  /short-backend/;
}

location /short-backend/ {
    internal;
    proxy_pass  http://127.0.0.1:$raw_port/short/;
    include     $conf_d/chaton-backend.conf;
}
CONF

my $body = { model => 'gpt-4o', stream => \1,
             messages => [{ role => 'user', content => 'hello' }] };

# a request's debug lines: backend reads, kept outputs, writes, flushes
sub counted {
    my ($path) = @_;
    my $from = length($t->error_log);
    my $s = $t->stream($path, $body);
    my $log = substr($t->error_log, $from);
    my %n = (reads => 0, kept => 0, sent => 0, flush => 0, room => 0);
    $n{reads}++ while $log =~ /chaton state: backend read:/g;
    $n{kept}++ while $log =~ /chaton output kept: /g;
    $n{sent}++ while $log =~ /chaton output sent: /g;
    $n{flush}++ while $log =~ /chaton output flush/g;
    while ($log =~ /chaton output released: (\d+) bytes/g) {
        $n{room} = $1 if $1 > $n{room};
    }
    return ($s, \%n);
}

# a burst from the mock: 3,000 deltas in 64 KiB writes

$t->mock_knob({ route => 'chats', deltas => 3000, split => 'none',
                delay_ms => 0, times => 2 });

my ($s, $n) = counted('/v1/chat/completions');
my $rec = $t->mock_requests('chats')->[-1];
is($s->{events}[-1]{data}, '[DONE]', 'burst: the stream is whole');
ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
                             'burst: every byte, in order');
ok($n->{kept} > 0, "burst: reads' output kept for the next's ($n->{kept})");
ok($n->{reads} > 10 && $n->{sent} > 0 && $n->{sent} * 2 <= $n->{reads},
   "burst: at most one write for two backend reads ($n->{sent} writes, "
   . "$n->{reads} reads)");

# the same with chaton_coalesce_size 0: a write per read

my ($s0, $n0) = counted('/off/v1/chat/completions');
$rec = $t->mock_requests('chats')->[-1];
is($s0->{events}[-1]{data}, '[DONE]', 'coalescing off: the stream is whole');
ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s0->{events}),
                             'coalescing off: every byte, in order');
is($n0->{kept}, 0, 'coalescing off: nothing kept');
ok($n0->{sent} > $n->{sent} && $n0->{sent} * 10 >= $n0->{reads} * 9,
   "coalescing off: a write for (nearly) every read ($n0->{sent} writes, "
   . "$n0->{reads} reads)");

# a stream paced as a model streams: each read its own write

$t->mock_knob({ route => 'chats', deltas => 40, split => 'event',
                event_interval_ms => 5 });
my ($sp, $np) = counted('/v1/chat/completions');
is($sp->{events}[-1]{data}, '[DONE]', 'paced: the stream is whole');
is($np->{kept}, 0, 'paced: nothing kept (no read fills the buffer)');

# the backend falls silent right after two full reads: what they made
# reaches the client while the backend is silent, not after

sub when_seen {
    my ($s, $what) = @_;
    my $got = '';
    for my $c (@{ $s->{chunks} }) {
        $got .= $c->{data};
        return $c->{t} if index($got, $what) >= 0;
    }
    return 99;
}

for my $case (['raw', 1], ['raw-off', 0]) {
    my ($loc, $coalesced) = @$case;
    my ($sr, $nr) = counted("/$loc/v1/chat/completions");
    is($sr->{events}[-1]{data}, '[DONE]', "$loc: the stream is whole");
    is(ChatonTest::stream_text($sr->{events}), "$pre_text after",
       "$loc: every byte, in order");
    my $at = when_seen($sr, $last);
    ok($at < STALL - 0.5,
       sprintf("$loc: the events before the silence arrived at %.2fs, "
               . 'while the backend was silent (%.1fs)', $at, STALL));
    if ($coalesced) {
        ok($nr->{kept} > 0 && $nr->{flush} > 0,
           "$loc: kept, then sent at the end of the loop's turn "
           . "($nr->{kept} kept, $nr->{flush} flushed)");
        is($nr->{room}, 32768, "$loc: the second full read took a burst's "
           . 'room (chaton_coalesce_size)');
    } else {
        is($nr->{kept} + $nr->{flush}, 0, "$loc: nothing kept");
    }
}

# a short answer that fills one read and ends in the next: nothing kept,
# and its output takes no burst's room (only a second full read in a row
# does: many short answers at once would make the heap grow and shrink)

my ($ss, $ns) = counted('/short/v1/chat/completions');
is(ChatonTest::stream_text($ss->{events}), "$short_text end",
   'short answer: every byte, in order');
is($ns->{kept}, 0, 'short answer: nothing kept');
ok($ns->{room} > 0 && $ns->{room} <= 8192,
   "short answer: its output took $ns->{room} bytes, no burst's room");

# a client that goes away in the middle of a burst: the worker goes on
# (no alert, no crash: the log's last test), the next stream is whole

$t->mock_knob({ route => 'chats', deltas => 20000, split => 'none',
                delay_ms => 0 });
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $t->port) or die $!;
my $json = '{"model":"gpt-4o","stream":true,"messages":[{"role":"user",'
         . '"content":"hello"}]}';
print $sock "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: application/json\r\n"
    . "Content-Length: " . length($json) . "\r\n\r\n$json";
sysread($sock, my $first, 65536);
setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_LINGER(),
           pack('ii', 1, 0));
close $sock;                                # RST, mid-burst
like($first, qr/^HTTP\/1\.1 200/, 'client gone mid-burst: it had begun');
sleep 0.3;
$t->mock_knob({ route => 'chats', deltas => 3000, split => 'none',
                delay_ms => 0 });
my ($sa) = counted('/v1/chat/completions');
is($sa->{events}[-1]{data}, '[DONE]',
   'client gone mid-burst: the next burst is whole');

kill 'TERM', $child;
waitpid $child, 0;

$t->finish;

done_testing;
