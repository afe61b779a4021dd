#!/usr/bin/env perl
# A stream's state (issue 16): the module keeps it in a pool of its own,
# one block of it for a chat or messages stream however long the
# conversation it was sent; what pre-steps needed (an image uploaded, a
# page crawled) goes with the setup's pool once the answer begins, and
# the client's body goes back once parsed.  Read from the module's debug
# log (ngx_http_chaton_pool_debug(), debug_http).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(decode_base64 encode_base64);
use Mojo::JSON qw(true);

use ChatonTest;

my $t = ChatonTest->new(
    log_level => 'debug_http',
    api => "client_body_buffer_size 64k;\nchaton_crawl_max_size 4k;");

# a pool's lines a request logged ("state" or the request's "pool"):
# [step, bytes, blocks, large allocations]
sub steps_of {
    my ($pool, $from) = @_;
    my $log = substr($t->error_log, $from);
    my @steps;
    my $line = qr/chaton $pool: ([a-z ]+): (\d+) bytes in (\d+) blocks, /;
    while ($log =~ /$line(\d+) large/g) {
        push @steps, [$1, $2, $3, $4];
    }
    return @steps;
}

sub state_steps { steps_of('state', @_) }

# the request pool's large allocations at the last backend read
my %large;

# a stream's request (its last event named), then its state at each
# backend read
sub reads_of {
    my ($name, $last, $send) = @_;
    my $from = length($t->error_log);
    my $s = $send->();
    my $end = $s->{events}[-1] // {};
    is($end->{json} ? $end->{json}{type} : $end->{data}, $last,
       "$name: the stream is whole") or diag($s->{body});
    my @reads = grep { $_->[0] eq 'backend read' } state_steps($from);
    ok(@reads, "$name: the state is read at each backend read");
    my @pool = grep { $_->[0] eq 'backend read' } steps_of('pool', $from);
    $large{$name} = @pool ? $pool[-1][3] : -1;
    return @reads;
}

sub one_block {
    my ($name, @reads) = @_;
    my @more = grep { $_->[2] != 1 } @reads;
    ok(@reads && !@more, "$name: the state keeps one block")
        or diag(join "\n", map { "@$_" } @reads);
}

# a plain stream

my @plain = reads_of('plain', '[DONE]', sub { $t->chat_stream() });
one_block('plain', @plain);

# a long conversation: 40 turns of 600 bytes (24 KiB): its messages go
# with the setup's pool, not the stream's state

my @turns = map {
    { role => $_ % 2 ? 'assistant' : 'user', content => ('word ' x 120) }
} 0 .. 39;
push @turns, { role => 'user', content => 'and now?' };

my @long = reads_of('long conversation', '[DONE]',
                    sub { $t->chat_stream(messages => \@turns) });
one_block('long conversation', @long);
ok(@long && @plain && abs($long[-1][1] - $plain[-1][1]) < 64,
   'long conversation: the state is what a one-line question\'s is')
    or diag("long $long[-1][1], plain $plain[-1][1]");

# and the client's body (24 KiB, read into the request pool) is given back
# once parsed: the request pool holds what a one-line question's holds
is($large{'long conversation'}, $large{plain},
   'long conversation: the body\'s memory went back')
    or diag("large allocations: long $large{'long conversation'}, "
            . "plain $large{plain}");

# what a pre-step leaves in the state: its call's record, no more (its
# texts, its sending's strings went with the setup's pool)

sub no_more_than_a_call {
    my ($name, @reads) = @_;
    ok(@reads && @plain && $reads[-1][1] - $plain[-1][1] < 1024,
       "$name: the state holds its call's record, not its text")
        or diag("$name $reads[-1][1], plain $plain[-1][1]");
}

# an image uploaded first: the upload's state goes with the setup

my $png = decode_base64('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAD'
                        . 'UlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==');
my @image = reads_of('upload', '[DONE]', sub {
    $t->chat_stream(messages => [{ role => 'user', content => [
        { type => 'text', text => 'What is in this image?' },
        { type => 'image_url', image_url => {
            url => 'data:image/png;base64,' . encode_base64($png, '') } },
    ] }]);
});
no_more_than_a_call('upload', @image);

# a page crawled first (3 KiB of text): its text goes with the setup

$t->mock_knob({ route => 'urls', text => 'page text ' x 300 });
my @crawl = reads_of('crawl', '[DONE]', sub {
    $t->chat_stream(function_web_search => true, messages => [
        { role => 'user',
          content => 'Summarize https://example.com/page please.' }]);
});
no_more_than_a_call('crawl', @crawl);
$t->mock_reset;

# the other dialects' streams

my @messages = reads_of('messages', 'message_stop', sub {
    $t->stream('/v1/messages', { model => 'claude-3-5-sonnet-latest',
        max_tokens => 100, stream => true,
        messages => [{ role => 'user', content => 'hello' }] });
});
one_block('messages', @messages);

# the other dialects' long requests, the body given back: what the answer
# needs of them (stop sequences, tools, the echo) was copied out
# (under make test-asan, a use of the body's memory after shows)

my @system = map { { type => 'text', text => ('rule ' x 100) } } 1 .. 10;
my @an_turns = map {
    { role => $_ % 2 ? 'assistant' : 'user', content => ('word ' x 120) }
} 0 .. 39;
push @an_turns, { role => 'user', content => 'and now?' };

my $s = $t->stream('/v1/messages', { model => 'claude-3-5-sonnet-latest',
    max_tokens => 100, stream => true, system => \@system,
    stop_sequences => ['NEVER-SEEN'],
    tools => [{ name => 'read_file', description => 'Reads a file.',
                input_schema => { type => 'object', properties => {
                    path => { type => 'string' } } } }],
    messages => \@an_turns });
is($s->{events}[-1]{json}{type}, 'message_stop',
   'messages, a long request: the stream is whole') or diag($s->{body});

my @items = map {
    { type => 'message', role => $_ % 2 ? 'assistant' : 'user',
      content => ('word ' x 120) }
} 0 .. 39;
$s = $t->stream('/v1/responses', { model => 'gpt-4o', stream => true,
    instructions => ('Be brief. ' x 100), metadata => { k => 'v' },
    tools => [{ type => 'function', name => 'read_file',
                parameters => { type => 'object' } }],
    input => [@items, { type => 'message', role => 'user',
                        content => 'and now?' }] });
my $done = $s->{events}[-1]{json} // {};
is($done->{type}, 'response.completed',
   'responses, a long request: the stream is whole') or diag($s->{body});
is($done->{response}{instructions}, 'Be brief. ' x 100,
   'responses, a long request: the echo of the request is whole');
is($done->{response}{tools}[0]{name}, 'read_file',
   'responses, a long request: its tools are echoed');

# a response keeps its output (response.completed repeats it, a store
# keeps it): its state grows with the answer; only whole is checked

reads_of('responses', 'response.completed', sub {
    $t->stream('/v1/responses', { model => 'gpt-4o', stream => true,
                                  input => 'hello' });
});

done_testing;
