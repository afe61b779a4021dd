#!/usr/bin/env perl
# Memory per stream does not grow with the stream's length: a stream of
# 100,000 events runs in the memory of one of 100.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;

use ChatonTest;

my $t = ChatonTest->new;

sub worker_pid { $t->worker_pid }

sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> }

sub peak_kb {
    my ($pid) = @_;
    return (slurp("/proc/$pid/status") =~ /VmHWM:\s+(\d+) kB/)[0];
}

my $pid = worker_pid();
ok($pid, "the worker: $pid");

# warm up: the first requests allocate what every request reuses

for (1 .. 3) {
    $t->mock_knob({ route => 'chats', deltas => 100, delay_ms => 0,
                    split => 'none' });
    $t->chat_stream;
}

my $short = peak_kb($pid);

$t->mock_knob({ route => 'chats', deltas => 100_000, delay_ms => 0,
                split => 'none' });
my $s = $t->chat_stream;
my $rec = $t->mock_wait('chats', 4)->[-1];

is($s->{events}[-1]{data}, '[DONE]', 'the long stream completed');
my $chunks = grep { $_->{json} } @{ $s->{events} };
ok($chunks >= 100_000, "$chunks chunks");
ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
                             'every delta, in order');

my $long = peak_kb($pid);
my $growth = $long - $short;
diag("worker peak RSS: $short kB after 100-event streams, $long kB after "
     . "a 100,000-event stream ($rec->{sent}{raw_length} bytes in)");
ok($growth < 1024,
   "peak RSS grew by $growth kB over 100,000 events (under 1 MiB)");

$t->finish;

done_testing;
