#!/usr/bin/env perl
# Load, with nothing lost (issue 5): many concurrent streams through one
# worker, every delta of every stream delivered exactly once, in order,
# byte-exact, and the worker's memory back near where it started.
#
#   prove t/92-load.t          the short version (part of make test):
#                              100 streams of 500 deltas at once, twice
#   SOAK=1 prove -v t/92-load.t   the long one (make soak, scripts/soak):
#                              1,000 streams of 500 deltas at once, twice,
#                              then a stream of 100,000 events
#
# LOAD_STREAMS, LOAD_DELTAS and LOAD_LONG_EVENTS override the figures.
# Each stream's user message is unique ("load stream <i>"), which pairs the
# client with the mock's record of what it sent (sent.content).  RSS figures
# are printed with diag.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json true false);
use Mojo::Promise;
use Mojo::UserAgent;

use ChatonTest;

my $SOAK = $ENV{SOAK};
my $STREAMS = $ENV{LOAD_STREAMS} // ($SOAK ? 1000 : 100);
my $DELTAS = $ENV{LOAD_DELTAS} // 500;
my $LONG = $ENV{LOAD_LONG_EVENTS} // ($SOAK ? 100_000 : 0);
my $ROUNDS = 2;

my $t = ChatonTest->new(log_level => 'notice');

sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> }

sub worker_pid { $t->worker_pid }

# VmRSS (now) and VmHWM (the peak so far), kB
sub mem {
    my $s = slurp("/proc/$_[0]/status");
    return { rss => ($s =~ /VmRSS:\s+(\d+) kB/)[0], peak => ($s =~ /VmHWM:\s+(\d+) kB/)[0] };
}

my $pid = worker_pid();
ok($pid, "one worker: $pid");

# warm-up: the first streams allocate what later ones reuse
for (1 .. 3) {
    $t->mock_knob({ route => 'chats', deltas => 100, delay_ms => 0 });
    $t->chat_stream(messages => [{ role => 'user', content => 'warm-up' }]);
}
my $base = mem($pid);
diag("worker $pid: RSS $base->{rss} kB after warm-up");

my $ua = Mojo::UserAgent->new(inactivity_timeout => 120, request_timeout => 0,
                              connect_timeout => 30, max_connections => 0);

# one round: $STREAMS streams at once; returns the clients' results
sub round {
    my ($round) = @_;
    my $n0 = @{ $t->mock_requests('chats') };
    $t->mock_knob({ route => 'chats', times => $STREAMS, deltas => $DELTAS,
                    delay_ms => 0 });
    my (%got, @p);
    my $t0 = time;
    for my $i (1 .. $STREAMS) {
        my $msg = "load stream $round.$i";
        my $tx = $ua->build_tx(POST => $t->url('/v1/chat/completions') => json => {
            model => 'gpt-4o', stream => true,
            messages => [{ role => 'user', content => $msg }] });
        my $buf = '';
        $tx->res->content->unsubscribe('read')->on(read => sub { $buf .= $_[1] });
        push @p, $ua->start_p($tx)->then(sub {
            my $tx = shift;
            $got{$msg} = { status => $tx->res->code, body => $buf };
        }, sub {
            $got{$msg} = { status => 0, error => "@_", body => $buf };
        });
    }
    Mojo::Promise->all_settled(@p)->wait;
    my $secs = time - $t0;
    my $peak = mem($pid);
    my $recs = $t->mock_wait('chats', $n0 + $STREAMS, 60);
    my %rec = map { ($_->{json}{messages}[-1]{content} // '?') => $_ }
              @$recs[$n0 .. $#$recs];
    # how many backend calls were under way at once, at most
    my @edges = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }
                map { ([$_->{t}, 1], [$_->{t_end} // $_->{t}, -1]) } values %rec;
    my ($now, $most) = (0, 0);
    for (@edges) { $now += $_->[1]; $most = $now if $now > $most }
    return (\%got, \%rec, $secs, $peak, $most);
}

# every client: 200, [DONE] last, the role once, one finish_reason, every
# delta once and in order (the concatenated content equals what the mock
# sent for that very request, byte for byte, and there are as many content
# chunks as the mock sent deltas)
sub check {
    my ($round, $got, $rec, $secs) = @_;
    my ($ok, $n5xx, @bad) = (0, 0);
    for my $msg (sort keys %$got) {
        my $g = $got->{$msg};
        my $r = $rec->{$msg};
        $n5xx++ if $g->{status} >= 500;
        my @ev = ChatonTest::parse_sse($g->{body});
        my @chunks = grep { $_->{json} && $_->{json}{choices} } @ev;
        my $text = ChatonTest::stream_text(\@ev);
        my $deltas = grep { my $d = $_->{json}{choices}[0]{delta};
                            defined $d->{content} && length $d->{content} } @chunks;
        my $why = !$r ? 'no mock record'
            : $g->{status} != 200 ? "status $g->{status} " . ($g->{error} // '')
            : ($ev[-1]{data} // '') ne '[DONE]' ? 'no [DONE] last'
            : (grep { $_->{json} && $_->{json}{error} } @ev) ? 'an error event'
            : (grep { $_->{json}{choices}[0]{delta}{role} } @chunks) != 1 ? 'role not once'
            : (grep { defined $_->{json}{choices}[0]{finish_reason} } @chunks) != 1
                ? 'finish_reason not once'
            : !defined $r->{sent}{content} ? 'the mock kept no content'
            : $text ne $r->{sent}{content} ? 'content differs from what the mock sent'
            : $deltas != $DELTAS
                ? "$deltas content chunks for $DELTAS deltas"
            : '';
        if ($why) { push @bad, "$msg: $why" } else { $ok++ }
    }
    is(scalar keys %$got, $STREAMS, "round $round: $STREAMS streams answered");
    is($ok, $STREAMS, "round $round: every stream whole, in order, byte-exact "
       . "($STREAMS x $DELTAS deltas in " . sprintf('%.1fs', $secs) . ')')
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
    is($n5xx, 0, "round $round: no 5xx");
}

my @after;
for my $round (1 .. $ROUNDS) {
    my ($got, $rec, $secs, $peak, $most) = round($round);
    check($round, $got, $rec, $secs);
    ok($most >= $STREAMS * 0.9,
       "round $round: $most of the $STREAMS streams were under way at once");

    # nginx ends a request just after its last bytes left
    sleep 0.5;
    my $m = mem($pid);
    push @after, $m->{rss};
    diag(sprintf 'round %d: %d streams x %d deltas in %.1fs; worker RSS %d kB '
         . '(peak %d kB), %+d kB from the baseline', $round, $STREAMS, $DELTAS,
         $secs, $m->{rss}, $m->{peak}, $m->{rss} - $base->{rss});
}

is(worker_pid(), $pid, 'the same worker throughout (no crash)');

# memory: what the streams held is given back (glibc keeps some of the
# heap, so "close to the baseline" is a generous bound), and a second
# round costs nothing more than the first
my $bound = $SOAK ? 65536 : 16384;
ok($after[-1] - $base->{rss} < $bound,
   "worker RSS after the run within $bound kB of the baseline "
   . "($base->{rss} -> $after[-1] kB)");
if ($ROUNDS > 1) {
    ok($after[-1] - $after[0] < 4096,
       "a second round does not grow it ($after[0] -> $after[-1] kB)");
}

# the long stream (soak only; t/35-memory.t has its own in make test)

if ($LONG) {
    my $before = mem($pid);
    my $n0 = @{ $t->mock_requests('chats') };
    $t->mock_knob({ route => 'chats', deltas => $LONG, delay_ms => 0, split => 'none' });
    my $t0 = time;
    my $s = $t->chat_stream(messages => [{ role => 'user', content => 'long stream' }]);
    my $secs = time - $t0;
    my $rec = $t->mock_wait('chats', $n0 + 1)->[-1];
    my $end = mem($pid);
    is($s->{events}[-1]{data}, '[DONE]', "long stream: $LONG deltas completed");
    ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
                                'long stream: every delta, in order');
    diag(sprintf 'long stream: %d deltas (%d bytes in) in %.1fs; worker RSS %d -> %d kB '
         . '(peak %d kB)', $LONG, $rec->{sent}{raw_length}, $secs, $before->{rss},
         $end->{rss}, $end->{peak});
    ok($end->{rss} - $before->{rss} < 1024,
       'long stream: RSS flat (' . ($end->{rss} - $before->{rss}) . ' kB)');
}

$t->finish;

done_testing;
