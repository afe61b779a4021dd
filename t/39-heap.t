#!/usr/bin/env perl
# A worker's heap (issue 16): chaton_malloc_trim_threshold sets glibc's
# trim threshold in each worker (default 8m) and its mmap threshold to half
# of it, so that the heap a worker's streams took is kept for the next
# ones rather than given back and faulted in again page by page.  Seen from
# outside with strace: a request of 1 MiB (its body and the module's copies
# of it are blocks of 1 MiB) is taken from the heap with brk() and kept;
# with "off" glibc's own tuning maps the first one; with 256k (an mmap
# threshold of 128k) every one is mapped and unmapped.  (The request is
# read, parsed and measured whole, then refused for the model's context
# window: the mock would take minutes over an answer to 1 MiB.)
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);

use ChatonTest;

my $STRACE = '/usr/bin/strace';

# the worker's mmap, munmap and brk calls (strace's lines) during each of
# two requests of 1 MiB; the first answer comes after a warm-up request

sub heap_calls {
    my ($conf) = @_;
    my $t = ChatonTest->new(log_level => 'notice',
                            defined $conf ? (http => $conf) : ());
    my $pid = $t->worker_pid;
    my $big = 'x' x (1024 * 1024);
    my @calls;

    is($t->chat(messages => [{ role => 'user', content => 'warm-up' }])->code,
       200, ($conf // 'default') . ': a warm-up request');

    for my $i (1 .. 2) {
        my $log = $t->dir . "/strace.$i";
        my $st = fork // die "fork: $!";
        if ($st == 0) {
            open STDERR, '>', '/dev/null';
            exec $STRACE, '-qq', '-e', 'trace=mmap,munmap,brk', '-p', $pid,
                '-o', $log or die "exec strace: $!";
        }
        sleep 0.5;          # attached

        my $res = $t->chat(messages => [{ role => 'user', content => $big }]);
        is($res->code == 400 && $res->json->{error}{code}, 'context_length_exceeded',
           ($conf // 'default') . ": request $i of 1 MiB read whole");

        sleep 0.3;          # the request's end: its pools freed
        kill 'INT', $st;
        waitpid $st, 0;
        push @calls, [ split /\n/, $t->slurp("strace.$i") ];
    }

    $t->finish;
    return @calls;
}

sub maps { scalar grep { /^mmap\(NULL, (\d+),/ && $1 >= 1024 * 1024 } @_ }
sub unmaps { scalar grep { /^munmap\(\S+, (\d+)\)/ && $1 >= 1024 * 1024 } @_ }

# the break's values, in order: a lower one is memory given back
sub gave_back {
    no warnings 'portable';
    my @brk = map { /^brk\((0x[0-9a-f]+)\)/ ? hex $1 : () } @_;
    return scalar grep { $brk[$_] < $brk[$_ - 1] } 1 .. $#brk;
}

SKIP: {
    skip "no $STRACE", 1 unless -x $STRACE;

    my ($first, $second) = heap_calls(undef);
    is(maps(@$first) + maps(@$second), 0,
       'default: no 1 MiB block is mapped (they come from the heap)');
    ok((grep { /^brk\(0x/ } @$first), 'default: the heap grew for the first')
        or diag(join "\n", @$first);
    is(gave_back(@$first, @$second) + unmaps(@$first, @$second), 0,
       'default: nothing is given back at the request\'s end');
    is(scalar @$second, 0,
       'default: the second takes the first\'s memory, no call at all')
        or diag(join "\n", @$second);

    ($first, $second) = heap_calls('chaton_malloc_trim_threshold off;');
    ok(maps(@$first) >= 1 && unmaps(@$first) >= 1,
       'off: glibc\'s own tuning maps the first 1 MiB block, and unmaps it')
        or diag(join "\n", @$first);

    ($first, $second) = heap_calls('chaton_malloc_trim_threshold 256k;');
    ok(maps(@$first) >= 1 && unmaps(@$first) >= 1
       && maps(@$second) >= 1 && unmaps(@$second) >= 1,
       '256k (mmap threshold 128k): each request maps its blocks')
        or diag(join "\n", @$first, '--', @$second);
}

# configurations nginx must refuse

sub refused {
    my ($name, $re, %o) = @_;
    my $c = ChatonTest->new(no_start => 1, no_mock => 1, %o);
    my ($rc, $out) = $c->conf_test;
    ok($rc != 0 && $out =~ $re, "refused: $name") or diag($out);
}

refused('a threshold under 128k', qr/must be "off" or a size from 128k to 1g/,
        http => 'chaton_malloc_trim_threshold 64k;');
refused('a threshold that is no size', qr/must be "off" or a size/,
        http => 'chaton_malloc_trim_threshold lots;');
refused('the threshold twice', qr/is duplicate/,
        http => "chaton_malloc_trim_threshold 4m;\n"
              . "chaton_malloc_trim_threshold 8m;");
refused('the threshold in a server', qr/is not allowed here/,
        server => 'chaton_malloc_trim_threshold 4m;');

done_testing;
