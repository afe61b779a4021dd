#!/usr/bin/env perl
# Faults (issue 5): clients that vanish, backends that misbehave, and nginx
# itself reloaded or losing a worker while streams are open.  Each against
# the real nginx and the mock's fault knobs:
#
#   - clients disconnect mid-stream, mid-answer, while the backend is still
#     silent, with FIN or RST: every backend call ends at once, its
#     connection is closed (not put back in the keepalive cache), the
#     worker's connections (stub_status) and descriptors return to their
#     baseline, the worker does not crash;
#   - a backend event over chaton_max_event_size: a 502 JSON error, or an
#     SSE error event once the stream has begun;
#   - a gzip answer the backend was not asked for, on every route: an
#     OpenAI error, never the compressed bytes passed off as an answer,
#     never a hang;
#   - "nginx -s reload" (SIGHUP) while 50 streams are open: all 50 finish
#     byte-exact from the old worker, which then exits; new requests go to
#     the new worker;
#   - a worker killed (SIGKILL) mid-stream: that client's stream ends (it
#     does not hang), the master starts a new worker, new requests succeed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::Promise;
use Mojo::UserAgent;

use ChatonTest;

# X-Worker: the pid of the worker that answered (add_header applies to the
# module's own headers, streams included)

# (/tiny/v1/: the API again, with a 1k event limit, so that an event
# arriving a byte at a time crosses it quickly, and a short stream wait, so
# that a stream can have begun before the backend's headers come)

my $t = ChatonTest->new(
    api => "chaton_max_event_size 4k;\nadd_header X-Worker \$pid always;",
    server => "location = /status {\n    stub_status;\n    access_log off;\n}\n"
            . "location /tiny/v1/ {\n    chaton;\n    chaton_max_event_size 1k;\n"
            . "    chaton_stream_wait 300ms;\n}");

*err = \&ChatonTest::is_openai_error;

sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> }

# the master's children: its workers (after a reload, old and new)
sub workers {
    my $master = $t->master_pid;
    return sort { $a <=> $b } grep {
        ((slurp("/proc/$_/stat") =~ /^\d+ \(.*?\) \S (\d+)/)[0] // 0) == $master
    } map { m{/proc/(\d+)\z} ? $1 : () } glob '/proc/[0-9]*';
}

sub alive { my $s = slurp("/proc/$_[0]/stat"); length $s && $s !~ /^\d+ \(.*?\) Z/ }

sub fds { my @f = glob "/proc/$_[0]/fd/*"; scalar @f }

# the worker's TCP connections to the mock (by socket inode)
sub backend_conns {
    my ($pid) = @_;
    my %mine = map { (readlink($_) // '') =~ /^socket:\[(\d+)\]/ ? ($1 => 1) : () }
               glob "/proc/$pid/fd/*";
    my $port = sprintf '%04X', ($t->mock_base =~ /:(\d+)\z/)[0];
    my $n = 0;
    for (split /\n/, slurp('/proc/net/tcp')) {
        my @f = split ' ';
        next unless @f > 9 && $f[2] =~ /:$port\z/ && $f[3] eq '01';
        $n++ if $mine{ $f[9] };
    }
    return $n;
}

sub status {
    my $b = $t->get('/status')->body;
    my %c;
    ($c{active}) = $b =~ /^Active connections: (\d+)/m;
    @c{qw(reading writing waiting)} = $b =~ /Reading: (\d+) Writing: (\d+) Waiting: (\d+)/;
    return \%c;
}

sub poll_until {
    my ($secs, $cb) = @_;
    my $end = time + $secs;
    while (1) {
        my $r = $cb->();
        return $r if $r || time > $end;
        sleep 0.05;
    }
}

# a request over a raw socket; the socket is returned unread
sub send_chat {
    my ($body, %o) = @_;
    my $json = encode_json($body);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port)
        or die "connect: $!";
    print $s "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nContent-Length: "
        . length($json) . "\r\n\r\n" . ($o{partial} ? substr($json, 0, 10) : $json);
    return $s;
}

# reads from a socket until $re matches what came, EOF, or $secs pass
sub read_until {
    my ($s, $re, $secs) = @_;
    my ($got, $end, $eof) = ('', time + $secs, 0);
    my $sel = IO::Select->new($s);
    while (!($re && $got =~ $re) && time < $end) {
        next unless $sel->can_read(0.05);
        my $n = sysread($s, my $buf, 65536);
        if (!$n) { $eof = 1; last }
        $got .= $buf;
    }
    return wantarray ? ($got, $eof) : $got;
}

sub rst_close {
    my ($s) = @_;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
}

sub chats_since { my $r = $t->mock_requests('chats'); [ @$r[$_[0] .. $#$r] ] }

# the worker, once the master has started it (a busy machine is slow to)
my $worker;
for (1 .. 100) {
    ($worker) = workers();
    last if $worker;
    sleep 0.05;
}
ok($worker, 'one worker: ' . ($worker // 'none'));

# ---------------------------------------------------------------------------
# clients that go away
# ---------------------------------------------------------------------------

# a first request leaves one keepalive connection to the backend
is($t->chat->code, 200, 'warm-up request');
my $base = poll_until(5, sub { my $c = status(); $c->{active} == 1 && $c->{writing} == 1 && $c });
ok($base, 'baseline: only the status request itself is active');
my $base_fds = fds($worker);
my $base_conns = backend_conns($worker);
diag("baseline: $base_fds descriptors, $base_conns keepalive connection(s) to the backend");

my $n0 = @{ $t->mock_requests('chats') };
my (@socks, %kind, %closed);

# 10 slow streams (10 s each if left alone), 8 closed with FIN, 2 with RST,
# after their first content chunk
$t->mock_knob({ route => 'chats', times => 10, split => 'event',
                event_interval_ms => 100, deltas => 100 });
for my $i (1 .. 10) {
    my $s = send_chat({ model => 'gpt-4o', stream => true,
                        messages => [{ role => 'user', content => "abort stream $i" }] });
    push @socks, $s;
    $kind{"abort stream $i"} = $i <= 8 ? 'stream' : 'stream-rst';
}
my $started = 0;
for my $i (0 .. $#socks) {
    my $got = read_until($socks[$i], qr/"content":"[^"]+"/, 5);
    $started++ if $got =~ m{^HTTP/1\.1 200 }s;
}
is($started, 10, 'the 10 streams had begun');
$closed{"abort stream $_"} = time for 1 .. 10;
$_ <= 8 ? close($socks[$_ - 1]) : rst_close($socks[$_ - 1]) for 1 .. 10;

# 2 streams and 2 whole requests that go while the backend is still silent
@socks = ();
$t->mock_knob({ route => 'chats', times => 4, stall_ms => 6000 });
my $n1 = @{ $t->mock_requests('chats') };
for my $i (1 .. 4) {
    push @socks, send_chat({ model => 'gpt-4o', stream => ($i <= 2 ? true : false),
                             messages => [{ role => 'user', content => "abort silent $i" }] });
    $kind{"abort silent $i"} = 'silent';
}
poll_until(5, sub { @{ $t->mock_requests('chats') } >= $n1 + 4 });
$closed{"abort silent $_"} = time for 1 .. 4;
close $_ for @socks;

# 2 whole answers, gone mid-answer (the backend had sent some events)
@socks = ();
$t->mock_knob({ route => 'chats', times => 2, split => 'event',
                event_interval_ms => 100, deltas => 100 });
my $n2 = @{ $t->mock_requests('chats') };
for my $i (1 .. 2) {
    push @socks, send_chat({ model => 'gpt-4o',
                             messages => [{ role => 'user', content => "abort whole $i" }] });
    $kind{"abort whole $i"} = 'whole';
}
poll_until(5, sub {
    my $r = chats_since($n2);
    @$r == 2 && !grep { ($_->{sent}{events} // 0) < 5 } @$r;
});
$closed{"abort whole $_"} = time for 1 .. 2;
close $_ for @socks;

# a request whose body never came whole: nothing reaches the backend
my $partial = send_chat({ model => 'gpt-4o', messages => [{ role => 'user', content => 'partial body' }] },
                        partial => 1);
sleep 0.2;
close $partial;

my $recs = poll_until(5, sub {
    my $r = chats_since($n0);
    @$r == 16 && !grep { !defined $_->{t_end} } @$r and $r;
}) || chats_since($n0);
is(scalar @$recs, 16, 'the backend got the 16 calls, not the partial body')
    or diag(join ', ', map { $_->{json}{messages}[-1]{content} // $_->{body} // '?' } @$recs);
my %by = map { ($_->{json}{messages}[-1]{content} // '?') => $_ } @$recs;
for my $name (sort keys %kind) {
    my $r = $by{$name};
    my $k = $kind{$name};
    my $after = $r && defined $r->{t_end} ? $r->{t_end} - $closed{$name} : 99;
    ok($after < 1.5, sprintf('%s (%s): the backend call ended %.2fs after the client left',
                             $name, $k, $after));
    next if $k eq 'silent';
    ok($r && $r->{sent}{client_closed} && !$r->{sent}{done},
       "$name: nginx closed the backend connection mid-answer");
}

my $after = poll_until(10, sub { my $c = status(); $c->{active} == 1 && $c->{writing} == 1 && $c });
ok($after, 'after the aborts: stub_status is back to the baseline (Active 1, Writing 1)')
    or diag(explain(status()));
my $fds = poll_until(5, sub { fds($worker) <= $base_fds && fds($worker) });
ok($fds, "after the aborts: the worker holds no more descriptors than before ("
   . fds($worker) . " vs $base_fds)");
ok(backend_conns($worker) <= $base_conns,
   'after the aborts: no backend connection was kept (' . backend_conns($worker)
   . " vs $base_conns)");
is((workers())[0], $worker, 'after the aborts: the same worker (no crash)');

# the next stream reuses what is left and is whole
my $n3 = @{ $t->mock_requests('chats') };
my $s = $t->chat_stream(messages => [{ role => 'user', content => 'after the aborts' }]);
my $rec = $t->mock_wait('chats', $n3 + 1)->[-1];
is($s->{events}[-1]{data}, '[DONE]', 'after the aborts: a stream completes');
is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content},
   'after the aborts: byte-exact');

# ---------------------------------------------------------------------------
# an event over chaton_max_event_size (4k here)
# ---------------------------------------------------------------------------

$t->mock_knob({ route => 'chats', max_event_bytes => 3000 });
$n3 = @{ $t->mock_requests('chats') };
$s = $t->chat_stream(messages => [{ role => 'user', content => 'event under the limit' }]);
$rec = $t->mock_wait('chats', $n3 + 1)->[-1];
is($s->{events}[-1]{data}, '[DONE]', '3000-byte event under a 4k limit: fine');
is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content},
   '3000-byte event: byte-exact');

$t->mock_knob({ route => 'chats', max_event_bytes => 8192 });
err($t->chat, 502, 'event over the limit, whole: 502', code => 'event_too_large');

for my $c (['none', 5000, ''], ['random', 5000, ''], ['byte', 1500, '/tiny']) {
    my ($split, $bytes, $prefix) = @$c;
    $t->mock_knob({ route => 'chats', max_event_bytes => $bytes, split => $split,
                    delay_ms => 0 });
    my $t0 = time;
    $s = $t->stream("$prefix/v1/chat/completions",
                    { model => 'gpt-4o', stream => true,
                      messages => [{ role => 'user', content => 'hello' }] });
    my @ev = @{ $s->{events} };
    my $name = "event over the limit, streamed (split $split)";
    is($s->{status}, 200, "$name: 200 had gone");
    is($ev[-1]{json} && $ev[-1]{json}{error} && $ev[-1]{json}{error}{code},
       'event_too_large', "$name: an error event last");
    ok(!grep({ ($_->{data} // '') eq '[DONE]' } @ev), "$name: no [DONE]");
    unlike(ChatonTest::stream_text(\@ev), qr/big event/, "$name: nothing of the big event passed on");
    ok(time - $t0 < 10, sprintf('%s: ended in %.2fs', $name, time - $t0));
}
is((workers())[0], $worker, 'big events: the same worker (no crash)');

# ---------------------------------------------------------------------------
# gzip the backend was not asked for
# ---------------------------------------------------------------------------

# an error answer: status 502 JSON (or, on a stream that had begun, an SSE
# error event), no gzip bytes, quickly
sub refused_gzip {
    my ($name, $code, $ctype, $body, $t0) = @_;
    $ctype //= '';
    $body //= '';
    if ($ctype =~ m{^text/event-stream}) {
        my @ev = ChatonTest::parse_sse($body);
        ok($code == 200 && $ev[-1]{json} && $ev[-1]{json}{error}
           && !grep({ ($_->{data} // '') eq '[DONE]' } @ev), "$name: an SSE error event")
            or diag(substr $body, 0, 300);
        is(ChatonTest::stream_text(\@ev), '', "$name: no content passed on");
    } else {
        my $json = eval { decode_json($body) };
        ok($code == 502 && $ctype =~ m{^application/json}
           && ref $json eq 'HASH' && ref $json->{error} eq 'HASH'
           && length($json->{error}{message} // ''), "$name: 502 JSON error")
            or diag("$code $ctype " . substr $body, 0, 300);
    }
    unlike($body, qr/\x1f\x8b/, "$name: no gzip bytes in what the client got");
    ok(time - $t0 < 5, sprintf('%s: answered in %.2fs', $name, time - $t0));
}

sub refused_res {
    my ($name, $res, $t0) = @_;
    refused_gzip($name, $res->code, $res->headers->content_type, $res->body, $t0);
}

sub refused_stream {
    my ($name, $s, $t0) = @_;
    refused_gzip($name, $s->{status}, $s->{res}->headers->content_type, $s->{body}, $t0);
}

my $t0 = time;
$t->mock_knob({ route => 'chats', gzip => true });
refused_res('gzip chat, whole', $t->chat, $t0);

$t0 = time;
$t->mock_knob({ route => 'chats', gzip => true });
refused_stream('gzip chat, streamed', $t->chat_stream, $t0);

# a slow stream in gzip (about 1.5 s): the error is known from the headers
$t0 = time;
$t->mock_knob({ route => 'chats', gzip => true, split => 'event', event_interval_ms => 100,
                deltas => 10 });
refused_stream('gzip chat, slow stream', $t->chat_stream, $t0);
ok(time - $t0 < 0.5, sprintf('gzip chat, slow stream: answered at once, not when '
                             . 'the backend finished (%.2fs)', time - $t0));

# the stream had begun (200 and a heartbeat after the 300ms wait) when the
# gzip answer came: an SSE error event
$t0 = time;
$t->mock_knob({ route => 'chats', gzip => true, stall_ms => 700 });
$s = $t->stream('/tiny/v1/chat/completions', { model => 'gpt-4o', stream => true,
                messages => [{ role => 'user', content => 'hello' }] });
like($s->{res}->headers->content_type // '', qr{^text/event-stream},
     'gzip after the stream began: it had begun');
refused_stream('gzip after the stream began', $s, $t0);

$t0 = time;
$t->mock_knob({ route => 'chats', gzip => true, status => 400,
                body => '{"error":"messages too long for this model"}' });
my $res = $t->chat;
ok($res->code == 502 || $res->code == 400, 'gzip backend 400: 502 or 400')
    or diag($res->code);
my $e = err($res, $res->code, 'gzip backend 400: a JSON error');
unlike($e && $e->{message} // '', qr/[\x00-\x08\x{fffd}]|\x1f\x8b/,
       'gzip backend 400: no compressed bytes in the message');

$t0 = time;
$t->mock_knob({ route => 'speech', gzip => true });
$res = $t->post('/v1/audio/speech', { model => 'tts-1', input => 'hello', voice => 'nova' });
isnt($res->headers->content_type // '', 'audio/mpeg', 'gzip speech: not passed off as mp3');
refused_res('gzip speech', $res, $t0);

$t0 = time;
$t->mock_knob({ route => 'speech', gzip => true });
$res = $t->post('/v1/audio/speech', { model => 'tts-1', input => 'hello', voice => 'nova',
                                      stream_format => 'sse' });
refused_res('gzip speech, SSE', $res, $t0);

# image generation tries again (2n attempts): every attempt answered in gzip
$t0 = time;
$t->mock_knob({ route => 'chats', gzip => true, times => 2 });
$res = $t->post('/v1/images/generations', { prompt => 'a cat', n => 1 });
refused_res('gzip image generation', $res, $t0);

# a page crawl answered in gzip: the crawl failed; the link stays as the
# user wrote it, nothing of the compressed bytes reaches the model
$t->mock_knob({ route => 'urls', gzip => true });
$n3 = @{ $t->mock_requests('chats') };
my $msg = 'summarize https://example.com/gz please';
$res = $t->chat(messages => [{ role => 'user', content => $msg }]);
is($res->code, 200, 'gzip crawl: the chat is answered');
$rec = $t->mock_wait('chats', $n3 + 1)->[-1];
is($rec->{json}{messages}[-1]{content}, $msg,
   'gzip crawl: the message went unchanged (no page text, no gzip bytes)');

# a picture look-up answered in gzip: the picture is unavailable, said so
$t->mock_knob({ route => 'storage', gzip => true });
$res = $t->chat(function_image_gen => true,
                messages => [{ role => 'user', content => 'draw a gzip cat' }]);
is($res->code, 200, 'gzip picture look-up: the chat is answered');
like($res->json->{choices}[0]{message}{content} // '', qr/\[image unavailable/,
     'gzip picture look-up: "image unavailable", not a bogus URL');

is((workers())[0], $worker, 'gzip: the same worker (no crash)');

# ---------------------------------------------------------------------------
# nginx -s reload with 50 streams open
# ---------------------------------------------------------------------------

my $N = 50;
$t->mock_knob({ route => 'chats', times => $N, split => 'event',
                event_interval_ms => 50, deltas => 40 });
$n3 = @{ $t->mock_requests('chats') };

my $ua = Mojo::UserAgent->new(inactivity_timeout => 30, request_timeout => 60,
                              max_connections => 0);
my (%started, %ended, %answer, @streams, $t_hup, @new_workers, @fresh);
$t0 = time;
for my $i (1 .. $N) {
    my $tx = $ua->build_tx(POST => $t->url('/v1/chat/completions') => json => {
        model => 'gpt-4o', stream => true,
        messages => [{ role => 'user', content => "reload stream $i" }] });
    $tx->res->content->on(read => sub { $started{$i} //= time });
    push @streams, $ua->start_p($tx)->then(sub { $ended{$i} = time; $answer{$i} = $_[0]->res });
}

# the new requests on connections of their own (none cached to the old one)
my $ua2 = Mojo::UserAgent->new(inactivity_timeout => 30, request_timeout => 60);
my $fresh_p = Mojo::Promise->new;
my $settle;
my $tid = Mojo::IOLoop->recurring(0.02 => sub {
    if (!$t_hup && keys %started == $N) {
        $t_hup = time;
        $t->signal_nginx('HUP');
        return;
    }
    return unless $t_hup && !@new_workers;

    # the old worker calls itself "shutting down" just before it closes its
    # listening sockets; from then on only new workers accept
    return unless slurp("/proc/$worker/cmdline") =~ /shutting down/;
    my @w = grep { $_ != $worker && alive($_) } workers();
    return unless @w;
    $settle //= time;
    return if time - $settle < 0.05;
    @new_workers = @w;

    # a new worker is up: new requests, while the old streams still run
    my @p;
    for my $i (1 .. 3) {
        my $tx = $ua2->build_tx(POST => $t->url('/v1/chat/completions') => json => {
            model => 'gpt-4o', stream => ($i == 3 ? true : false),
            messages => [{ role => 'user', content => "after reload $i" }] });
        push @p, $ua2->start_p($tx)->then(sub { push @fresh, [time, $_[0], $i]; $_[0] });
    }
    Mojo::Promise->all(@p)->then(sub { $fresh_p->resolve }, sub { $fresh_p->reject(@_) });
});

my $all_ok = eval {
    Mojo::Promise->all(@streams, $fresh_p)->timeout(40)->wait;
    1;
};
Mojo::IOLoop->remove($tid);
ok($all_ok, 'reload: every stream and every new request ended') or diag($@);
ok($t_hup, sprintf('reload: SIGHUP sent once all %d streams had begun (%.2fs)',
                   $N, ($t_hup // 0) - $t0));
ok(@new_workers, "reload: a new worker started (@new_workers)");

$recs = $t->mock_wait('chats', $n3 + $N + 3, 15);
%by = map { ($_->{json}{messages}[-1]{content} // '?') => $_ } @$recs[$n3 .. $#$recs];
my ($exact, $old, $during, @bad) = (0, 0, 0);
for my $i (1 .. $N) {
    my $res = $answer{$i};
    my $r = $by{"reload stream $i"};
    unless ($res && $r) { push @bad, "stream $i: no answer or no record"; next }
    my @ev = ChatonTest::parse_sse($res->body);
    if ($res->code == 200 && ($ev[-1]{data} // '') eq '[DONE]'
        && defined $r->{sent}{content}
        && ChatonTest::stream_text(\@ev) eq $r->{sent}{content})
    {
        $exact++;
    } else {
        push @bad, "stream $i: " . $res->code . ', ' . (scalar @ev) . ' events';
    }
    $old++ if ($res->headers->header('X-Worker') // '') eq $worker;
    $during++ if $t_hup && $ended{$i} && $ended{$i} > $t_hup;
}
is($exact, $N, "reload: all $N streams complete and byte-exact") or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
is($old, $N, "reload: all $N were served by the old worker $worker");
is($during, $N, "reload: all $N were still open when the reload came");

my $last_end = (sort { $b <=> $a } values %ended)[0] // 0;
is(scalar @fresh, 3, 'reload: the 3 new requests were answered');
for my $f (@fresh) {
    my ($when, $tx, $i) = @$f;
    my $res = $tx->res;
    my $name = ($res->headers->content_type // '') =~ /event-stream/ ? 'new stream' : 'new request';
    is($res->code, 200, "reload: $name: 200");
    my $w = $res->headers->header('X-Worker') // '';
    ok($w && $w ne $worker && grep({ $_ eq $w } @new_workers),
       "reload: $name served by a new worker ($w)");
    ok($when < $last_end, sprintf('reload: %s answered while the old worker still drained '
                                  . '(%.2fs before the last old stream ended)', $name, $last_end - $when));
    my $content = $name eq 'new stream'
        ? ChatonTest::stream_text([ ChatonTest::parse_sse($res->body) ])
        : eval { $res->json->{choices}[0]{message}{content} };
    my $r = $by{"after reload $i"};
    ok($r && defined $content && $content eq $r->{sent}{content},
       "reload: $name byte-exact");
}
ok(poll_until(10, sub { !alive($worker) }), "reload: the old worker $worker exited once drained");
my @now = workers();
is(scalar @now, 1, "reload: one worker left (@now)");
($worker) = @now;

# ---------------------------------------------------------------------------
# a worker killed mid-stream
# ---------------------------------------------------------------------------

$t->mock_knob({ route => 'chats', split => 'event', event_interval_ms => 100,
                deltas => 100 });
$n3 = @{ $t->mock_requests('chats') };
my $sock = send_chat({ model => 'gpt-4o', stream => true,
                       messages => [{ role => 'user', content => 'killed mid-stream' }] });
my $got = read_until($sock, qr/"content":"[^"]+"/, 5);
my ($victim) = $got =~ /^X-Worker: (\d+)\r$/mi;
is($victim, $worker, "kill: the stream is served by worker $worker");
$t0 = time;
kill 'KILL', $victim;
my ($rest, $eof) = read_until($sock, undef, 5);
$got .= $rest;
ok($eof, sprintf('kill: the client\'s stream ended %.2fs after the kill (no hang)', time - $t0));
unlike($got, qr/\[DONE\]/, 'kill: the client did not get [DONE]');
unlike($got, qr/\r\n0\r\n\r\n\z/, 'kill: nor the last chunk: the answer is visibly incomplete');
close $sock;

my ($respawned) = poll_until(5, sub { my @w = grep { $_ != $victim && alive($_) } workers(); @w ? \@w : undef });
ok($respawned && @$respawned == 1, 'kill: the master started a new worker ('
   . join(' ', @{ $respawned // [] }) . ')');
$rec = poll_until(5, sub { my $r = chats_since($n3)->[0]; $r && defined $r->{t_end} && $r });
ok($rec && !$rec->{sent}{done}, 'kill: the backend call was cut (connection closed by the kernel)');

$res = $t->chat(messages => [{ role => 'user', content => 'after the kill' }]);
is($res->code, 200, 'kill: a new request succeeds');
is($res->headers->header('X-Worker'), $respawned && $respawned->[0],
   'kill: served by the new worker');
$n3 = @{ $t->mock_requests('chats') };
$s = $t->chat_stream(messages => [{ role => 'user', content => 'stream after the kill' }]);
$rec = $t->mock_wait('chats', $n3 + 1)->[-1];
is($s->{events}[-1]{data}, '[DONE]', 'kill: a new stream completes');
is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content}, 'kill: byte-exact');

my $log = $t->error_log;
like($log, qr/worker process $victim exited on signal 9/, 'kill: the master saw the worker die');
$t->finish(allow => [qr/worker process $victim exited on signal 9/]);

done_testing;
