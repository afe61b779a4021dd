#!/usr/bin/env perl
# Memory of a waiting stream (issue 16): between the backend's reads, a
# stream holds no output buffer (the filter gives it back once the client
# has it, and takes a new one sized for the next read); events larger than
# the backend location's buffer (proxy_buffer_size, 4k) are put together
# from several reads as before, and chaton_max_event_size still holds.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;

use ChatonTest;

my $t = ChatonTest->new(log_level => 'debug',
                        api => "chaton_max_event_size 64k;");

*err = \&ChatonTest::is_openai_error;

# a paced stream: every event a read of its own, and its output given back

my $before = () = $t->error_log =~ /chaton output released/g;

$t->mock_knob({ route => 'chats', deltas => 30, split => 'event',
                event_interval_ms => 20 });
my $s = $t->chat_stream;
my $rec = $t->mock_wait('chats', 1)->[-1];

is($s->{events}[-1]{data}, '[DONE]', 'paced stream: complete');
is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content},
   'paced stream: byte-exact');

my @released = ($t->error_log =~ /chaton output released: (\d+) bytes/g);
splice @released, 0, $before;
cmp_ok(scalar @released, '>=', 25,
       'the output buffer was given back after each read ('
       . scalar(@released) . ' times)');
ok(!grep({ $_ < 4096 } @released),
   'each an allocation of its own, at least 4 KiB');

# events larger than the backend location's 4k buffer

for my $size (6000, 20000) {
    $t->mock_knob({ route => 'chats', max_event_bytes => $size,
                    split => 'random' });
    my $n = @{ $t->mock_requests('chats') };
    $s = $t->chat_stream(messages => [{ role => 'user',
                                        content => "events of $size" }]);
    $rec = $t->mock_wait('chats', $n + 1)->[-1];
    is($s->{events}[-1]{data}, '[DONE]', "$size-byte events: complete");
    is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content},
       "$size-byte events, over several reads: byte-exact");
}

# and one over chaton_max_event_size (64k) is still refused

$t->mock_knob({ route => 'chats', max_event_bytes => 80000 });
err($t->chat, 502, 'an event over chaton_max_event_size: 502',
    code => 'event_too_large');

done_testing;
