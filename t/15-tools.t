#!/usr/bin/env perl
# Tool calling on /v1/chat/completions, emulated: what the model is told
# (what the mock received), and what the client gets of the calls the mock
# makes as a model would, streamed and whole, well and badly formed.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new;

my $weather = { type => 'function', function => {
    name => 'get_weather', description => 'The weather of a city now',
    parameters => { type => 'object',
                    properties => { city => { type => 'string' } },
                    required => ['city'] } } };
my $time = { type => 'function', function => { name => 'get_time',
    description => 'The time now' } };

sub ask {
    my (%o) = @_;
    my $res = $t->chat(tools => [$weather, $time],
                       messages => [{ role => 'user', content => $o{say} }],
                       %{ $o{extra} // {} });
    return ($res, $res->json);
}

# the stream's tool calls, joined as a client joins them
sub stream_calls {
    my ($events) = @_;
    my (@calls, $finish, $n);
    for my $e (@$events) {
        my $c = $e->{json} && $e->{json}{choices} ? $e->{json}{choices}[0]
                                                  : undef;
        next unless $c;
        $finish = $c->{finish_reason} if defined $c->{finish_reason};
        for my $tc (@{ $c->{delta}{tool_calls} // [] }) {
            my $k = $calls[$tc->{index}] //= { arguments => '' };
            $k->{id} //= $tc->{id};
            $k->{type} //= $tc->{type};
            $k->{name} //= $tc->{function}{name};
            $k->{arguments} .= $tc->{function}{arguments} // '';
            $n++;
        }
    }
    return (\@calls, $finish, $n);
}

# ---- what the model is told

my ($res, $j) = ask(say => 'What time is it?');
is($res->code, 200, 'tools offered: 200');
my $rec = $t->mock_wait('chats', 1)->[-1];
my $sys = $rec->{json}{messages}[0];
is($sys->{role}, 'system', 'the instructions are a system message, first');
like($sys->{content}, qr/<tool_call_[a-z0-9]{8}>/, 'with the nonce\'s tags');
like($sys->{content}, qr/get_weather/, 'naming the tools');
like($sys->{content}, qr/The weather of a city now/, 'with their descriptions');
like($sys->{content}, qr/"city"/, 'and their parameters\' schema');
is($rec->{sent}{tools}{choice}, 'auto', 'the mock read choice auto');
is_deeply($rec->{sent}{tools}{offered}, ['get_weather', 'get_time'],
          'the mock read the tools offered');
is($j->{choices}[0]{finish_reason}, 'stop', 'no call made: stop');
ok(!exists $j->{choices}[0]{message}{tool_calls}, 'no call made: no tool_calls');

# ---- a call, whole

($res, $j) = ask(say => 'Weather? [[tool get_weather {"city":"Paris"}]]');
$rec = $t->mock_wait('chats', 2)->[-1];
my $nonce = $rec->{sent}{tools}{nonce};
my $msg = $j->{choices}[0]{message};
is($j->{choices}[0]{finish_reason}, 'tool_calls', 'whole: finish_reason tool_calls');
is($msg->{content}, undef, 'whole: content null, no text');
is(scalar @{ $msg->{tool_calls} }, 1, 'whole: one call');
like($msg->{tool_calls}[0]{id}, qr/^call_\w+$/, 'whole: a call_ id');
is($msg->{tool_calls}[0]{type}, 'function', 'whole: type function');
is($msg->{tool_calls}[0]{function}{name}, 'get_weather', 'whole: the name');
is_deeply(decode_json($msg->{tool_calls}[0]{function}{arguments}),
          { city => 'Paris' }, 'whole: the arguments, a JSON object\'s text');
unlike(encode_json($j), qr/tool_call_\Q$nonce\E/, 'whole: no tag reaches the client');

# ---- a call, streamed

my $s = $t->chat_stream(tools => [$weather, $time], messages => [
    { role => 'user', content => 'Weather? [[tool-prose get_weather {"city":"Paris"}]]' }]);
is($s->{status}, 200, 'stream: 200');
my ($calls, $finish) = stream_calls($s->{events});
is(ChatonTest::stream_text($s->{events}), "Let me look that up.",
   'stream: the prose before the call, as content (white space before the call aside)');
is($finish, 'tool_calls', 'stream: finish_reason tool_calls');
is(scalar @$calls, 1, 'stream: one call');
is($calls->[0]{name}, 'get_weather', 'stream: the name');
like($calls->[0]{id}, qr/^call_\w+$/, 'stream: a call_ id');
is($calls->[0]{type}, 'function', 'stream: type function');
is_deeply(decode_json($calls->[0]{arguments}), { city => 'Paris' },
          'stream: the arguments');
is($s->{events}[-1]{data}, '[DONE]', 'stream: [DONE] last');
unlike($s->{body}, qr/tool_call_[a-z0-9]{8}/, 'stream: no tag reaches the client');
my @fin = grep { $_->{json} && $_->{json}{choices}
                 && defined $_->{json}{choices}[0]{finish_reason} } @{ $s->{events} };
is(scalar @fin, 1, 'stream: exactly one finish_reason');

# ---- what models really do

my %want = (
    fence      => ['', { city => 'Paris' }],
    noclose    => ['', { city => 'Paris' }],
    misspelled => ['', { city => 'Paris' }],
    string     => ['', { city => 'Paris' }],
    imagine    => ['', { city => 'Paris' }],
);
for my $v (sort keys %want) {
    for my $stream (0, 1) {
        my $say = "[[tool-$v get_weather {\"city\":\"Paris\"}]]";
        my ($text, $c, $f);
        if ($stream) {
            $s = $t->chat_stream(tools => [$weather, $time],
                                 messages => [{ role => 'user', content => $say }]);
            ($c, $f) = stream_calls($s->{events});
            $text = ChatonTest::stream_text($s->{events});
        } else {
            (undef, $j) = ask(say => $say);
            $c = [map { { name => $_->{function}{name},
                          arguments => $_->{function}{arguments} } }
                  @{ $j->{choices}[0]{message}{tool_calls} // [] }];
            $f = $j->{choices}[0]{finish_reason};
            $text = $j->{choices}[0]{message}{content} // '';
        }
        my $how = ($stream ? 'stream' : 'whole') . ", $v";
        is($f, 'tool_calls', "$how: a call");
        is(scalar @$c, 1, "$how: one call");
        is($c->[0]{name}, 'get_weather', "$how: the offered name");
        is_deeply(eval { decode_json($c->[0]{arguments}) }, $want{$v}[1],
                  "$how: the arguments");
        is($text, $want{$v}[0], "$how: no other text");
    }
}

# not calls: they reach the client as the text they are

for my $v (qw(bare example prose-only)) {
    (undef, $j) = ask(say => "[[tool-$v get_weather {\"city\":\"Paris\"}]]");
    $rec = $t->mock_requests('chats')->[-1];
    is($j->{choices}[0]{finish_reason}, 'stop', "$v: no call");
    ok(!exists $j->{choices}[0]{message}{tool_calls}, "$v: no tool_calls");
    (my $sent = $rec->{sent}{content}) =~ s/\s+\z//;
    (my $got = $j->{choices}[0]{message}{content}) =~ s/\s+\z//;
    is($got, $sent, "$v: the model's text, as it wrote it");
}

(undef, $j) = ask(say => '[[tool get_wether_forecast_now {"city":"Paris"}]]');
is($j->{choices}[0]{finish_reason}, 'stop', 'a tool not offered: no call');
like($j->{choices}[0]{message}{content}, qr/get_wether_forecast_now/,
     'a tool not offered: the text is passed on');

(undef, $j) = ask(say => '[[tool get_weather {city: Paris}]]');
is($j->{choices}[0]{finish_reason}, 'stop', 'arguments not JSON: no call');
like($j->{choices}[0]{message}{content}, qr/\{city: Paris\}/,
     'arguments not JSON: the text is passed on');

# several calls, and parallel_tool_calls

(undef, $j) = ask(say => 'Both: [[tool get_weather {"city":"Paris"}]] and [[tool get_time]]');
my @c = @{ $j->{choices}[0]{message}{tool_calls} };
is(scalar @c, 2, 'two calls');
is_deeply([map { $_->{function}{name} } @c], ['get_weather', 'get_time'],
          'in order');
is($c[1]{function}{arguments}, '{}', 'no arguments: {}');
isnt($c[0]{id}, $c[1]{id}, 'each its own id');

(undef, $j) = ask(say => 'Both: [[tool get_weather {"city":"Paris"}]] and [[tool get_time]]',
                  extra => { parallel_tool_calls => false });
$rec = $t->mock_requests('chats')->[-1];
ok(!$rec->{sent}{tools}{parallel}, 'parallel_tool_calls false: the model is told');
is(scalar @{ $j->{choices}[0]{message}{tool_calls} }, 1,
   'parallel_tool_calls false: the first call only');

$s = $t->chat_stream(tools => [$weather, $time], messages => [
    { role => 'user', content => 'Both: [[tool get_weather {"city":"Paris"}]] and [[tool get_time]]' }]);
($calls, $finish) = stream_calls($s->{events});
is_deeply([map { $_->{name} } @$calls], ['get_weather', 'get_time'],
          'stream: two calls, indexes 0 and 1');

# tool_choice

(undef, $j) = ask(say => 'hello', extra => { tool_choice => 'required' });
$rec = $t->mock_requests('chats')->[-1];
is($rec->{sent}{tools}{choice}, 'required', 'required: the model is told');
is($j->{choices}[0]{finish_reason}, 'tool_calls', 'required: the mock calls');

(undef, $j) = ask(say => 'hello', extra => { tool_choice =>
    { type => 'function', function => { name => 'get_time' } } });
$rec = $t->mock_requests('chats')->[-1];
is($rec->{sent}{tools}{choice}, 'function', 'a named function: the model is told');
is($j->{choices}[0]{message}{tool_calls}[0]{function}{name}, 'get_time',
   'a named function: called');

(undef, $j) = ask(say => '[[tool get_weather {"city":"Paris"}]]',
                  extra => { tool_choice => 'none' });
$rec = $t->mock_requests('chats')->[-1];
is_deeply([map { $_->{role} } @{ $rec->{json}{messages} }], ['user'],
          'none: no tool is offered, no instructions without history');
is($j->{choices}[0]{finish_reason}, 'stop', 'none: no call');

# ---- the loop: the call and its result go back in the format

my @history = (
    { role => 'user', content => 'Weather in Paris?' },
    { role => 'assistant', content => undef, tool_calls => [
        { id => 'call_abc', type => 'function', function => {
            name => 'get_weather', arguments => '{"city":"Paris"}' } } ] },
    { role => 'tool', tool_call_id => 'call_abc', content => 'Sunny, 24°C' });
$res = $t->chat(tools => [$weather, $time], messages => \@history);
$j = $res->json;
$rec = $t->mock_requests('chats')->[-1];
$nonce = $rec->{sent}{tools}{nonce};
my @m = @{ $rec->{json}{messages} };
is_deeply([map { $_->{role} } @m], [qw(system user assistant user)],
          'the loop: every message reached the backend, in roles it knows');
is($m[2]{content},
   "<tool_call_$nonce>{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}</tool_call_$nonce>",
   'the loop: the earlier call, in the format');
is($m[3]{content},
   "<tool_result_$nonce call_id=\"call_abc\" name=\"get_weather\">\nSunny, 24°C\n</tool_result_$nonce>",
   'the loop: the result, naming its call');
is($j->{choices}[0]{message}{content}, 'The tool said: Sunny, 24°C',
   'the loop: the model answers from the result');
is($j->{choices}[0]{finish_reason}, 'stop', 'the loop: stop');

# ---- response_format

$t->mock_knob({ route => 'chats', text => "```json\n{\"a\": 1}\n```" });
$res = $t->chat(response_format => { type => 'json_object' },
                messages => [{ role => 'user', content => 'json please' }]);
$rec = $t->mock_requests('chats')->[-1];
like($rec->{json}{messages}[0]{content}, qr/JSON object/,
     'json_object: the model is asked for JSON');
is($res->json->{choices}[0]{message}{content}, '{"a": 1}',
   'json_object: a whole answer in a code fence is unwrapped');

$t->mock_knob({ route => 'chats', text => "```json\n{\"age\": 3}\n```" });
$res = $t->chat(response_format => { type => 'json_schema', json_schema => {
    name => 'person', schema => { type => 'object',
        properties => { age => { type => 'integer' } } } } },
    messages => [{ role => 'user', content => 'json please' }]);
$rec = $t->mock_requests('chats')->[-1];
like($rec->{json}{messages}[0]{content}, qr/"age"/,
     'json_schema: the schema is given');
is($res->json->{choices}[0]{message}{content}, '{"age": 3}',
   'json_schema: unwrapped');
$t->mock_reset;

# ---- without tools, the plain path: nothing added

$res = $t->chat(messages => [{ role => 'user', content => 'hi' }]);
$rec = $t->mock_requests('chats')->[-1];
is_deeply([map { $_->{role} } @{ $rec->{json}{messages} }], ['user'],
          'no tools: no instructions');

$t->finish;
done_testing();
