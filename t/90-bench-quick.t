#!/usr/bin/env perl
# The benchmark's tools work: scripts/bench --quick (what make bench-quick
# runs) starts the backend, both gateways and the mock, drives every phase
# with bench/chaton-load and writes results.json and results.md.  No
# timing is asserted, only that the numbers are sane: requests made and
# none failed, events and content chunks counted, plain proxy_pass and the
# backend itself giving the very bytes of the recording, memory sampled.
# scripts/pool-steps reads one stream's request and state pools at each
# step.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;

my $ROOT = "$FindBin::Bin/..";

plan skip_all => 'the module is not built (make build)'
    unless -f ($ENV{CHATON_TEST_MODULE}
               // "$ROOT/build/ngx_http_chaton_module.so");

my $out = tempdir('chaton-bench-quick-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{TEST_NGINX_LEAVE});

local $ENV{CHATON_BENCH_MODULE} = $ENV{CHATON_TEST_MODULE}
    if $ENV{CHATON_TEST_MODULE};
my $log = `"$ROOT/scripts/bench" --quick --out "$out" 2>&1`;
is($?, 0, 'scripts/bench --quick succeeded') or diag($log);

my $res = eval {
    open my $fh, '<', "$out/results.json" or die "results.json: $!\n";
    local $/;
    decode_json(<$fh>);
};
ok($res, 'results.json is JSON') or diag($@);
$res //= {};

open my $fh, '<', "$out/results.md";
my $md = $fh ? do { local $/; <$fh> } : '';
like($md, qr/^Machine: .+, \d+ cores, Linux /m,
     'results.md names the machine');
like($md, qr/^\| figure \| \(a\) plain proxy_pass \| module \|/m,
     'results.md has the table');

ok($res->{machine}{cpu_model} && $res->{machine}{cores} >= 1
   && $res->{machine}{kernel}, 'the machine is recorded');
is($res->{errors}, 0, 'no request failed in any run');
is($res->{alerts}, 0, 'no nginx alerts or crashed workers');

my $P = $res->{phases} // {};

sub size_of { -s "$ROOT/bench/sse/$_[0].sse" }

# every run made requests, none failed

for my $phase (sort keys %$P) {
    for my $cfg (sort keys %{ $P->{$phase} }) {
        my $r = $P->{$phase}{$cfg};
        if ($phase =~ /^hold-(\d+)$/) {
            is($r->{opened}, $1, "$phase $cfg: all $1 streams held open");
        } else {
            ok($r->{requests} > 0, "$phase $cfg: $r->{requests} requests");
        }
        is($r->{errors}, 0, "$phase $cfg: no errors")
            or diag($r->{first_error});
    }
}

# the phases and configurations of issue 7

for my $phase (qw(stream-short stream-long whole)) {
    ok($P->{$phase}{plain} && $P->{$phase}{module},
       "$phase: (a) plain and the module ran");
}
for my $rec (qw(short long)) {
    ok($P->{"latency-$rec"}{$_}, "latency-$rec: $_ ran")
        for qw(direct plain module);
}
ok($P->{mock}{module}, 'the realistic run with the mock ran');

# the cost of counting tokens (issue 15): without and with the tokenizer,
# which really counted (its count of the same answer is not the estimate)

for my $what (qw(whole short long)) {
    ok($P->{"count-$what"}{off} && $P->{"count-$what"}{on},
       "count-$what: without and with chaton_tokenizer ran");
}
my ($off, $on) = map { $res->{params}{"counting_completion_tokens_$_"} }
                 qw(off on);
ok($off && $on && $off != $on,
   "the tokenizer counted: $on completion tokens, estimated $off");
like($md, qr/^\| counting tokens: worker CPU s per 1,000 requests \|/m,
     'results.md has the counting table');
# issue 16: the paced run, (a) and (b), every event of the 200-event
# recording arriving on its own; the rows of tools offered and of the
# other dialects, module only, each a row of the table

ok($P->{paced}{plain} && $P->{paced}{module},
   'paced: (a) plain and the module ran');
for my $cfg (qw(plain module)) {
    my $r = $P->{paced}{$cfg} or next;
    ok($r->{events_per_request} >= 190 && $r->{cpu_s} > 0,
       "paced $cfg: $r->{events_per_request} events per request, "
       . "$r->{cpu_s} s of worker CPU");
}
for my $v (qw(tools messages responses)) {
    ok($P->{"variant-$v"}{module}, "variant $v: the module ran");
    ok(defined $res->{figures}{"variant_${v}_cpu_ratio"},
       "variant $v: its ratio to (a)");
}
like($md, qr/^\| stream, 200 events paced \d+ ms apart .*\| [\d.]+× /m,
     'the paced row is in the table, with its ratio');
like($md, qr/^\| stream, 20 events, Anthropic \/v1\/messages: .*× /m,
     'the /v1/messages row is in the table');
like($md, qr/^\| stream, 20 events, chat with a tool offered: .*× /m,
     'the tools row is in the table');
like($md, qr/^\| stream, 20 events, OpenAI \/v1\/responses: .*× /m,
     'the /v1/responses row is in the table');
ok(grep({ /^hold-\d+$/ } keys %$P), 'a memory run ran');

# the 2,000-event stream also with each read's output written at once
# (chaton_coalesce_size 0): the translation's own cost, beside the burst's

ok($P->{'stream-long'}{each}, 'stream-long: the module without '
   . 'coalescing ran');
ok(defined $res->{figures}{stream_long_each_cpu_ratio},
   'stream-long without coalescing: its ratio to (a)');
my $each_row = qr/^\| stream, 2,000 events, each read's output written/m;
like($md, qr/$each_row at once .*× /m,
     'the row without coalescing is in the table');

# plain proxy_pass gives the very bytes the backend gives: the recording

my %rec_of = ('stream-short' => 'short', 'stream-long' => 'long',
              whole => 'medium', 'latency-short' => 'short',
              'latency-long' => 'long');
for my $phase (sort keys %rec_of) {
    my $size = size_of($rec_of{$phase});
    for my $cfg (qw(plain direct)) {
        my $r = $P->{$phase}{$cfg} or next;
        ok($r->{bytes_min} == $size && $r->{bytes_max} == $size,
           "$phase $cfg: every answer is the $rec_of{$phase} recording, "
           . "$size bytes")
            or diag("got $r->{bytes_min} .. $r->{bytes_max}");
    }
}

# events and content chunks counted; the module passes every content delta

for my $phase (qw(stream-short stream-long latency-short latency-long)) {
    my ($a, $b) = ($P->{$phase}{plain}, $P->{$phase}{module});
    next unless $a && $b;
    ok($a->{events_per_request} > 0 && $b->{events_per_request} > 0,
       "$phase: events counted ($a->{events_per_request} plain, "
       . "$b->{events_per_request} module per request)");
    ok($b->{content_events_per_request} > 0
       && $b->{content_events_per_request}
          == $a->{content_events_per_request},
       "$phase: the module's content chunks are the backend's "
       . "($b->{content_events_per_request} per request)");
    ok($b->{events_per_request} < $a->{events_per_request},
       "$phase: pings and analytics are not passed on");
    ok($b->{ttfc_ms}{p50} > 0 && $b->{ttfc_ms}{p99} >= $b->{ttfc_ms}{p50},
       "$phase: time to first content chunk measured");
}

my $w = $P->{whole}{module} // {};
ok(($w->{bytes_per_request} // 0) > 0 && ($w->{events_per_request} // 1) == 0,
   'non-stream: one JSON answer, no events');

my $m = $P->{mock}{module} // {};
ok(($m->{content_events_per_request} // 0) >= 20,
   'mock run: 20 content deltas per answer arrived');

# CPU and memory were read from /proc

for my $phase (qw(stream-short stream-long whole)) {
    for my $cfg (qw(plain module)) {
        my $r = $P->{$phase}{$cfg} or next;
        ok(defined $r->{cpu_s} && $r->{cpu_s} >= 0,
           "$phase $cfg: worker CPU read ($r->{cpu_s} s)");
    }
}

for my $phase (grep { /^hold-/ } sort keys %$P) {
    for my $cfg (qw(plain module)) {
        my $r = $P->{$phase}{$cfg} or next;
        ok($r->{rss_kib_start} > 0 && $r->{rss_kib_per_stream} > 0,
           "$phase $cfg: worker RSS read "
           . "($r->{rss_kib_per_stream} KiB per stream)");
    }
}

# figures and targets are there

my $F = $res->{figures} // {};
for my $k (qw(stream_short_cpu_ratio stream_long_cpu_ratio whole_rps_ratio
              latency_short_ttfc_p99_added_ms)) {
    ok(defined $F->{$k}, "figure $k: " . ($F->{$k} // 'missing'));
}
ok(@{ $res->{targets} // [] } >= 5, 'the targets are checked');

# scripts/pool-steps: one stream's request pool and state pool, read at
# each step from the module's debug log (ngx_http_chaton_pool_debug)

my $steps = `"$ROOT/scripts/pool-steps" 2 2>&1`;
is($?, 0, 'scripts/pool-steps succeeded') or diag($steps);

my ($request_part, $state_part) =
    $steps =~ /^its request pool:\n(.*)^its state pool[^\n]*\n(.*)/ms;

# pool_steps TEXT: [step, bytes, blocks] of each step the text shows
sub pool_steps {
    my ($text) = @_;
    my @steps;
    my $step = join '|', 'client body read', 'chat call made',
        'backend header', 'backend read, first', 'backend read, last';
    while (($text // '') =~ /^  ($step): (\d+) bytes in (\d+) blocks/mg) {
        push @steps, [$1, $2, $3];
    }
    return @steps;
}

my @steps = grep { $_->[0] ne 'backend read, last' }
    pool_steps($request_part);

is(join(' / ', map { $_->[0] } @steps),
   'client body read / chat call made / backend header / '
   . 'backend read, first', 'the pool is read at each step, in order')
    or diag($steps);
ok(@steps == 4 && $steps[0][1] < $steps[1][1] && $steps[1][1] < $steps[2][1]
   && $steps[2][1] <= $steps[3][1],
   'the pool grows from step to step')
    or diag($steps);
ok(@steps && $steps[-1][2] >= 2, 'its blocks are counted') or diag($steps);

# the module's state is in a pool of its own, one block of it for a stream
# (NGX_HTTP_CHATON_STATE_POOL_SIZE), however long the stream reads

my @state = pool_steps($state_part);
is(join(' / ', map { $_->[0] } @state),
   'client body read / chat call made / backend header / '
   . 'backend read, first / backend read, last',
   'the state pool is read at each step') or diag($steps);
is(join(' ', map { $_->[2] } @state), '1 1 1 1 1',
   "a stream's state keeps one block of its pool") or diag($steps);

done_testing;
