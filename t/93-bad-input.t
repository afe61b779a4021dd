#!/usr/bin/env perl
# Bad input (issue 5): every row of docs/bad-input.md.  Each refused input
# gets a clear 4xx OpenAI error (status; {"error":{"message","type","param",
# "code"}}; the param named where there is one) and nothing else happens:
# the backend (the mock) gets no request, the worker does not crash, nginx
# keeps serving others.  The few inputs that are accepted are asserted too,
# with what the backend got.
#
# Rows that show a known gap are TODO tests (they name the bug); they pass
# unexpectedly once it is fixed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Compress::Zlib ();
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::Message::Response;
use Mojo::UserAgent;

use ChatonTest;

# client_body_timeout / client_header_timeout short for the slow-client
# rows; a location with a small client_max_body_size for chunked bodies
# over the limit, one without gpt-4o's context window for a message over
# it (routes are found after /v1/ wherever it is)

my $t = ChatonTest->new(
    api => 'client_body_timeout 1s;',
    server => "client_header_timeout 1s;\n"
            . "location /small/v1/ {\n    chaton;\n    client_max_body_size 64k;\n}\n"
            . "location /nowindow/v1/ {\n    chaton;\n"
            . "    chaton_context_window gpt-4o off;\n}");

$SIG{PIPE} = 'IGNORE';

my $CHAT = '/v1/chat/completions';
my $IMAGES = '/v1/images/generations';
my $SPEECH = '/v1/audio/speech';

sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> }

sub worker_pid { $t->worker_pid }

my $worker = worker_pid();

# the mock's records since the last one seen: refused inputs add none
my $seen = 0;
sub since {
    my $res = $t->mock_ua->get($t->mock_base . "/__mock/requests?since=$seen")->result;
    die 'mock requests: ' . $res->code unless $res->is_success;
    my $r = $res->json;
    $seen = $r->[-1]{seq} if @$r;
    return $r;
}

# a refused input: the error, and no backend call
sub refused {
    my ($name, $res, $status, %want) = @_;
    my $e = ChatonTest::is_openai_error($res, $status, "$name: $status", %want);
    is(scalar @{ since() }, 0, "$name: nothing sent to the backend");
    return $e;
}

# an accepted input: 200 and the record of what the backend got
sub accepted {
    my ($name, $res) = @_;
    is($res->code, 200, "$name: accepted (200)")
        or diag(substr $res->body // '', 0, 300);
    return since()->[-1];
}

sub post { $t->post(@_) }

# a known gap: the tests run as TODO (Test::Builder's, as the checks run in
# ChatonTest's package too)
sub known_gap {
    my ($why, $cb) = @_;
    my $tb = Test::More->builder;
    $tb->todo_start($why);
    $cb->();
    $tb->todo_end;
}

# a chat body with some fields replaced; a value of \undef deletes the key
sub chat_body {
    my (%over) = @_;
    my %b = (model => 'gpt-4o', messages => [{ role => 'user', content => 'hello' }]);
    for my $k (keys %over) {
        if (ref $over{$k} eq 'SCALAR' && !defined ${ $over{$k} }) { delete $b{$k} }
        else { $b{$k} = $over{$k} }
    }
    return \%b;
}

sub msg_body {
    my (%msg) = @_;
    my %m = (role => 'user', content => 'hello');
    for my $k (keys %msg) {
        if (ref $msg{$k} eq 'SCALAR' && !defined ${ $msg{$k} }) { delete $m{$k} }
        else { $m{$k} = $msg{$k} }
    }
    return chat_body(messages => [\%m]);
}

sub show { my $v = encode_json([$_[0]]); $v =~ s/^\[|\]\z//g; length $v > 40 ? substr($v, 0, 37) . '...' : $v }

# raw HTTP over a socket: the whole answer, parsed
sub raw {
    my ($bytes, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $o{port} // $t->port)
        or die "connect: $!";
    syswrite($s, $bytes);
    my $got = read_all($s, $o{timeout} // 5);
    close $s;
    return Mojo::Message::Response->new->parse($got);
}

# what comes until EOF, or until one whole response came (nginx may keep
# the connection open after it, to discard the rest of a body), or $secs
sub read_all {
    my ($s, $secs) = @_;
    my ($got, $end) = ('', time + $secs);
    my $sel = IO::Select->new($s);
    my $res = Mojo::Message::Response->new;
    while (time < $end) {
        next unless $sel->can_read(0.05);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $got .= $buf;
        $res->parse($buf);
        last if $res->is_finished;
    }
    return $got;
}

sub req_head {
    my ($path, %h) = @_;
    return "POST $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
}

# accepted requests are answered briefly and at once (what they are about
# is what the backend got, not the answer)
my $BRIEF = { route => 'chats', times => 0, text => 'ok', delay_ms => 0, split => 'none' };
$t->mock_knob($BRIEF);

accepted('a valid request', $t->chat);

# ---------------------------------------------------------------------------
# invalid JSON
# ---------------------------------------------------------------------------

my $valid = encode_json(chat_body());

for my $c (
    ['empty body', ''],
    ['white space only', " \n\t "],
    ['not JSON', 'hello'],
    ['a lone brace', '{'],
    ['an unquoted key', '{model:"gpt-4o","messages":[]}'],
    ['single quotes', q({'model':'gpt-4o','messages':[]})],
    ['a trailing comma in an object', '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],}'],
    ['a trailing comma in an array', '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"},]}'],
    ['a missing comma', '{"model":"gpt-4o" "messages":[]}'],
    ['a missing value', '{"model":,"messages":[]}'],
    ['a comment', qq({"model":"gpt-4o",/* c */"messages":[{"role":"user","content":"hi"}]})],
    ['a line comment', qq({"model":"gpt-4o",// c\n"messages":[{"role":"user","content":"hi"}]})],
    ['NaN', '{"model":"gpt-4o","temperature":NaN,"messages":[{"role":"user","content":"hi"}]}'],
    ['Infinity', '{"model":"gpt-4o","temperature":Infinity,"messages":[{"role":"user","content":"hi"}]}'],
    ['a hex number', '{"model":"gpt-4o","max_tokens":0x10,"messages":[{"role":"user","content":"hi"}]}'],
    ['a leading +', '{"model":"gpt-4o","max_tokens":+10,"messages":[{"role":"user","content":"hi"}]}'],
    ['a bad escape', '{"model":"gpt-4o","messages":[{"role":"user","content":"a\q"}]}'],
    ['a short \u escape', '{"model":"gpt-4o","messages":[{"role":"user","content":"\u12"}]}'],
    ['an unterminated string', '{"model":"gpt-4o","messages":[{"role":"user","content":"hi}]}'],
    ['trailing garbage', "$valid x"],
    ['two objects', "$valid$valid"],
    ['an array of objects', "[$valid]"],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['true', 'true'],
    ['null', 'null'],
    ['an escaped lone high surrogate', '{"model":"gpt-4o","messages":[{"role":"user","content":"\ud800"}]}'],
    ['an escaped lone low surrogate', '{"model":"gpt-4o","messages":[{"role":"user","content":"\udc00x"}]}'],
) {
    refused("invalid JSON, $c->[0]", post($CHAT, $c->[1]), 400, param => undef, code => undef);
}

# cJSON is more lenient than JSON (RFC 8259) in two places
for my $c (
    ['a leading zero (01)', '{"model":"gpt-4o","max_tokens":010,"messages":[{"role":"user","content":"hi"}]}'],
    ['a bare decimal point (1.)', '{"model":"gpt-4o","temperature":1.,"messages":[{"role":"user","content":"hi"}]}'],
    ['a raw control character in a string', qq({"model":"gpt-4o","messages":[{"role":"user","content":"a\x01b"}]})],
    ['a raw newline in a string', qq({"model":"gpt-4o","messages":[{"role":"user","content":"a\nb"}]})],
) {
    {
        refused("invalid JSON, $c->[0]", post($CHAT, $c->[1]), 400, param => undef);
    }
    since();
}

# a UTF-8 byte order mark before the object: accepted (cJSON skips it)
accepted('a UTF-8 BOM before the object', post($CHAT, "\xEF\xBB\xBF$valid"));

# the same on the other JSON routes
refused('images: not JSON', post($IMAGES, 'prompt=a cat'), 400, param => undef);
refused('images: not an object', post($IMAGES, '["a cat"]'), 400, param => undef);
refused('images: truncated', post($IMAGES, '{"prompt":"a c'), 400, param => undef);
refused('speech: not JSON', post($SPEECH, 'input=hello'), 400, param => undef);
refused('speech: not an object', post($SPEECH, '"hello"'), 400, param => undef);
refused('speech: truncated', post($SPEECH, '{"model":"tts-1","input":"hel'), 400, param => undef);

# ---------------------------------------------------------------------------
# truncated: every proper prefix of a valid body
# ---------------------------------------------------------------------------

my $full = encode_json({ model => 'gpt-4o', stream => false, max_tokens => 10,
                         messages => [{ role => 'user', content => "caf\x{e9} \x{1F600}" }] });
my (@not400, $n_prefix);
for my $len (1 .. length($full) - 1) {
    my $res = post($CHAT, substr($full, 0, $len));
    $n_prefix++;
    push @not400, "$len: " . $res->code
        unless $res->code == 400 && eval { exists $res->json->{error}{message} };
}
ok(!@not400, "truncated: all $n_prefix prefixes of a valid body are a 400 JSON error")
    or diag("@not400[0 .. ($#not400 < 9 ? $#not400 : 9)]");
is(scalar @{ since() }, 0, 'truncated: nothing sent to the backend');

# ---------------------------------------------------------------------------
# deeply nested
# ---------------------------------------------------------------------------

my $D = 10_000;
refused("nested $D arrays", post($CHAT, ('[' x $D) . (']' x $D)), 400, param => undef);
refused("nested $D objects", post($CHAT, ('{"a":' x $D) . '1' . ('}' x $D)), 400, param => undef);
refused("nested $D arrays in an ignored field",
        post($CHAT, '{"model":"gpt-4o","metadata":' . ('[' x $D) . (']' x $D)
                    . ',"messages":[{"role":"user","content":"hi"}]}'), 400, param => undef);
refused("nested $D arrays as content",
        post($CHAT, '{"model":"gpt-4o","messages":[{"role":"user","content":'
                    . ('[' x $D) . (']' x $D) . '}]}'), 400, param => undef);
refused("nested $D objects in images", post($IMAGES, '{"prompt":"x","m":' . ('{"a":' x $D) . '1' . ('}' x $D) . '}'),
        400, param => undef);
refused("nested $D arrays in speech", post($SPEECH, '{"input":"x","m":' . ('[' x $D) . (']' x $D) . '}'),
        400, param => undef);
accepted('nested 500 arrays in an ignored field (within cJSON\'s limit of 1000)',
         post($CHAT, '{"model":"gpt-4o","metadata":{"a":' . ('[' x 500) . (']' x 500)
                     . '},"messages":[{"role":"user","content":"hi"}]}'));

# ---------------------------------------------------------------------------
# wrong types, every field
# ---------------------------------------------------------------------------

my $u = \undef;    # "leave the key out"

# [field, [bad values], param, code]
my @chat_fields = (
    ['model', [42, true, [], {}, '', undef, $u], 'model'],
    ['messages', ['hello', 42, true, {}, [], undef, $u], 'messages'],
    ['stream', ['yes', 'true', 1, 0, [], {}], 'stream'],
    ['max_tokens', ['100', 0, -1, 1.5, 1e10, true, [], {}], 'max_tokens'],
    ['max_completion_tokens', ['100', 0, -5, 2.5, 1e10, false, []], 'max_completion_tokens'],
    ['n', ['1', 0, -1, 1.5, true, [], {}], 'n'],
    ['temperature', ['0.5', -0.1, 2.1, true, [], {}], 'temperature'],
    ['top_p', ['0.5', -0.1, 1.1, false, []], 'top_p'],
    ['presence_penalty', ['0', -2.5, 2.5, true], 'presence_penalty'],
    ['frequency_penalty', ['0', -2.5, 2.5, []], 'frequency_penalty'],
    ['seed', ['1', true, [], {}], 'seed'],
    ['stop', [42, true, {}], 'stop'],
    ['user', [42, true, [], {}], 'user'],
    ['response_format', ['json_object', 42, true, []], 'response_format'],
    ['function_web_search', ['true', 1, 0, [], {}], 'function_web_search'],
    ['function_image_gen', ['true', 1, [], {}], 'function_image_gen'],
    ['function_code_interpreter', ['false', 0, [], {}], 'function_code_interpreter'],
    ['web_search_engine', [42, true, '', [], {}], 'web_search_engine'],
    ['web_search_options', ['on', 42, true, []], 'web_search_options'],
);

for my $f (@chat_fields) {
    my ($field, $values, $param) = @$f;
    for my $v (@$values) {
        my $what = ref $v eq 'SCALAR' ? 'missing' : show($v);
        refused("chat: $field $what", post($CHAT, chat_body($field => $v)), 400, param => $param);
    }
}

# tools and functions: an array of functions, each well formed
for my $field (qw(tools functions)) {
    for my $v ('x', 42, true, {}) {
        refused("chat: $field " . show($v), post($CHAT, chat_body($field => $v)), 400,
                param => $field);
    }
}
my $fn = { type => 'function', function => { name => 'f' } };
for my $row (
    [[1], 'tools[0]'],
    [[{ type => 'retrieval' }], 'tools[0].type'],
    [[{ type => 'function' }], 'tools[0].function'],
    [[{ type => 'function', function => { name => '' } }], 'tools[0].function.name'],
    [[{ type => 'function', function => { name => 'a b' } }], 'tools[0].function.name'],
    [[{ type => 'function', function => { name => 'x' x 65 } }], 'tools[0].function.name'],
    [[{ type => 'function', function => { name => 'f', description => 5 } }], 'tools[0].function.description'],
    [[{ type => 'function', function => { name => 'f', parameters => 'x' } }], 'tools[0].function.parameters'],
    [[$fn, { type => 'function', function => { name => 7 } }], 'tools[1].function.name'],
) {
    refused('chat: tools ' . show($row->[0]), post($CHAT, chat_body(tools => $row->[0])), 400,
            param => $row->[1]);
}
refused('chat: functions [{}]', post($CHAT, chat_body(functions => [{}])), 400,
        param => 'functions[0].name');

# tool_choice, function_call, parallel_tool_calls
for my $v ('sometimes', 42, true, [], { type => 'function' },
           { type => 'function', function => { name => 'g' } }, { type => 'tool', function => { name => 'f' } }) {
    refused('chat: tool_choice ' . show($v), post($CHAT, chat_body(tools => [$fn], tool_choice => $v)), 400,
            param => 'tool_choice');
}
refused('chat: tool_choice required without tools', post($CHAT, chat_body(tool_choice => 'required')), 400,
        param => 'tool_choice');
for my $v ('sometimes', { name => 'g' }, 5) {
    refused('chat: function_call ' . show($v),
            post($CHAT, chat_body(functions => [{ name => 'f' }], function_call => $v)), 400,
            param => 'function_call');
}
for my $v ('yes', 1, []) {
    refused('chat: parallel_tool_calls ' . show($v),
            post($CHAT, chat_body(tools => [$fn], parallel_tool_calls => $v)), 400,
            param => 'parallel_tool_calls');
}

# response_format: a type we know, json_schema with its name and schema
for my $row (
    [{}, 'response_format.type'],
    [{ type => 'yaml' }, 'response_format.type'],
    [{ type => 5 }, 'response_format.type'],
    [{ type => 'json_schema' }, 'response_format.json_schema'],
    [{ type => 'json_schema', json_schema => 'x' }, 'response_format.json_schema'],
    [{ type => 'json_schema', json_schema => { schema => {} } }, 'response_format.json_schema.name'],
    [{ type => 'json_schema', json_schema => { name => '' } }, 'response_format.json_schema.name'],
    [{ type => 'json_schema', json_schema => { name => 'p', schema => [] } }, 'response_format.json_schema.schema'],
) {
    refused('chat: response_format ' . show($row->[0]), post($CHAT, chat_body(response_format => $row->[0])), 400,
            param => $row->[1]);
}

# the tool loop's messages: results answer calls; arguments are JSON objects
my $call = sub { { role => 'assistant', content => undef, tool_calls => [
    { id => 'call_1', type => 'function', function => { name => 'f', arguments => $_[0] } }] } };
for my $row (
    [[{ role => 'tool', content => '42' }], 'messages[0].tool_call_id'],
    [[{ role => 'tool', tool_call_id => 5, content => '42' }], 'messages[0].tool_call_id'],
    [[{ role => 'user', content => 'hi' }, { role => 'tool', tool_call_id => 'call_1', content => '42' }],
     'messages[1].tool_call_id'],
    [[{ role => 'user', content => 'hi' }, $call->('{}'), { role => 'tool', tool_call_id => 'call_2', content => '4' }],
     'messages[2].tool_call_id'],
    [[{ role => 'user', content => 'hi' }, $call->('{}'), { role => 'tool', tool_call_id => 'call_1', content => 4 }],
     'messages[2].content'],
    [[{ role => 'function', name => 'f', content => '42' }], 'messages[0].name'],
    [[{ role => 'user', content => 'hi' }, $call->('{not json')], 'messages[1].tool_calls[0].function.arguments'],
    [[{ role => 'user', content => 'hi' }, $call->('[1,2]')], 'messages[1].tool_calls[0].function.arguments'],
    [[{ role => 'user', content => 'hi' }, $call->('"x"')], 'messages[1].tool_calls[0].function.arguments'],
    [[{ role => 'user', content => 'hi' }, { role => 'assistant', tool_calls => 'x' }], 'messages[1].tool_calls'],
    [[{ role => 'user', content => 'hi' }, { role => 'assistant', tool_calls => [{ type => 'function' }] }],
     'messages[1].tool_calls[0].id'],
) {
    refused('chat: messages ' . show($row->[0]), post($CHAT, chat_body(messages => $row->[0])), 400,
            param => $row->[1]);
}

# n: a valid integer other than 1
refused('chat: n 2', post($CHAT, chat_body(n => 2)), 400, param => 'n', code => 'unsupported_value');

# stream_options: only with stream, an object, include_usage a boolean
for my $v ('x', 42, true, []) {
    refused('chat: stream_options ' . show($v), post($CHAT, chat_body(stream => true, stream_options => $v)),
            400, param => 'stream_options');
}
for my $v ('yes', 1, [], {}) {
    refused('chat: stream_options.include_usage ' . show($v),
            post($CHAT, chat_body(stream => true, stream_options => { include_usage => $v })),
            400, param => 'stream_options.include_usage');
}
refused('chat: stream_options without stream', post($CHAT, chat_body(stream_options => { include_usage => true })),
        400, param => 'stream_options');

# messages[i]
for my $v ('hello', 42, true, [], undef) {
    refused('chat: messages[1] ' . show($v),
            post($CHAT, chat_body(messages => [{ role => 'user', content => 'a' }, $v])),
            400, param => 'messages[1]');
}
for my $v (42, true, [], {}, undef, 'robot', '', 'USER', $u) {
    my $what = ref $v eq 'SCALAR' ? 'missing' : show($v);
    refused("chat: messages[0].role $what", post($CHAT, msg_body(role => $v)), 400,
            param => 'messages[0].role');
}
# a tool's result names the call it answers (the loop's rows are below)
refused('chat: messages[0].role tool', post($CHAT, msg_body(role => 'tool')), 400,
        param => 'messages[0].tool_call_id');
refused('chat: messages[0].role function', post($CHAT, msg_body(role => 'function')), 400,
        param => 'messages[0].name');
for my $v (42, true, {}, [], undef, $u) {
    my $what = ref $v eq 'SCALAR' ? 'missing' : show($v);
    refused("chat: messages[0].content $what", post($CHAT, msg_body(content => $v)), 400,
            param => 'messages[0].content');
}

# content parts
for my $c (
    [[42], 'a number'],
    [['text'], 'a string'],
    [[[]], 'an array'],
    [[{}], 'no type'],
    [[{ type => 42 }], 'type a number'],
    [[{ type => 'text' }], 'text part without text'],
    [[{ type => 'text', text => 42 }], 'text a number'],
    [[{ type => 'text', text => [] }], 'text an array'],
    [[{ type => 'image_url' }], 'image_url part without image_url'],
    [[{ type => 'image_url', image_url => 42 }], 'image_url a number'],
    [[{ type => 'image_url', image_url => {} }], 'image_url without url'],
    [[{ type => 'image_url', image_url => { url => 42 } }], 'image_url.url a number'],
    [[{ type => 'image_url', image_url => { url => '' } }], 'image_url.url empty'],
) {
    refused("chat: messages[0].content[0] $c->[1]", post($CHAT, msg_body(content => $c->[0])), 400,
            param => 'messages[0].content[0]');
}
refused('chat: messages[0].content[1] of type audio',
        post($CHAT, msg_body(content => [{ type => 'text', text => 'a' }, { type => 'input_audio' }])),
        400, param => 'messages[0].content[1]', code => 'unsupported_value');
refused('chat: image_url an ftp URL',
        post($CHAT, msg_body(content => [{ type => 'image_url', image_url => { url => 'ftp://x/y.png' } }])),
        400, param => 'messages[0].content[0]', code => 'invalid_image_url');
refused('chat: image_url a data URL that is not base64',
        post($CHAT, msg_body(content => [{ type => 'image_url', image_url => { url => 'data:image/png;base64,***' } }])),
        400, param => 'messages[0].content[0]', code => 'invalid_image_url');
refused('chat: image_url a data URL of another type',
        post($CHAT, msg_body(content => [{ type => 'image_url', image_url => { url => 'data:image/tiff;base64,AAAA' } }])),
        400, param => 'messages[0].content[0]', code => 'invalid_image_format');

# stop: an array of strings only
{
    refused('chat: stop [1]', post($CHAT, chat_body(stop => [1])), 400, param => 'stop');
    refused('chat: stop [{}]', post($CHAT, chat_body(stop => [{}])), 400, param => 'stop');
}
since();

# null is as absent, for every optional field
accepted('chat: null optional fields',
         post($CHAT, chat_body(map { $_ => undef } qw(stream stream_options max_tokens
             max_completion_tokens n temperature top_p presence_penalty frequency_penalty seed
             stop user response_format tools functions function_web_search function_image_gen
             function_code_interpreter web_search_engine web_search_options))));

# /v1/images/generations
my @image_fields = (
    ['prompt', [42, true, [], {}, '', '   ', " \t\r\n ", undef, $u, 'x' x 4001]],
    ['model', [42, true, [], {}]],
    ['n', ['1', 0, 11, 1.5, -1, true, [], {}]],
    ['size', [42, true, [], '1024', '100x100', '1024X1024']],
    ['style', [42, true, [], '', 'x' x 65]],
    ['response_format', [42, true, [], 'png', 'URL']],
);
for my $f (@image_fields) {
    my ($field, $values) = @$f;
    for my $v (@$values) {
        my %b = (prompt => 'a cat');
        if (ref $v eq 'SCALAR') { delete $b{$field} } else { $b{$field} = $v }
        my $what = ref $v eq 'SCALAR' ? 'missing' : show($v);
        refused("images: $field $what", post($IMAGES, \%b), 400, param => $field);
    }
}

# /v1/audio/speech
my @speech_fields = (
    ['input', [42, true, [], {}, '', undef, $u, 'x' x 4097]],
    ['model', [42, true, [], {}, 'tts-2', 'gpt-4o', undef, $u]],
    ['voice', [42, true, [], 'bob', 'NOVA']],
    ['response_format', [42, true, [], 'wav', 'opus', 'MP3']],
    ['speed', ['1', true, [], 0.1, 4.5, 0, -1]],
    ['stream_format', [42, true, [], 'x', 'SSE']],
);
for my $f (@speech_fields) {
    my ($field, $values) = @$f;
    for my $v (@$values) {
        my %b = (model => 'tts-1', input => 'hello', voice => 'nova');
        if (ref $v eq 'SCALAR') { delete $b{$field} } else { $b{$field} = $v }
        my $what = ref $v eq 'SCALAR' ? 'missing' : show($v);
        refused("speech: $field $what", post($SPEECH, \%b), 400, param => $field);
    }
}

# ---------------------------------------------------------------------------
# invalid UTF-8 and NUL bytes
# ---------------------------------------------------------------------------

sub with_content { '{"model":"gpt-4o","messages":[{"role":"user","content":"' . $_[0] . '"}]}' }

for my $c (
    ['a lone continuation byte', "a\x80b"],
    ['a sequence cut short', "a\xC3"],
    ['a 3-byte sequence cut short', "a\xE2\x82b"],
    ['an overlong encoding', "a\xC0\xAFb"],
    ['an overlong NUL', "a\xC0\x80b"],
    ['an encoded surrogate', "a\xED\xA0\x80b"],
    ['a code point over U+10FFFF', "a\xF4\x90\x80\x80b"],
    ['a 5-byte sequence', "a\xF8\x88\x80\x80\x80b"],
    ['the byte FF', "a\xFFb"],
    ['Latin-1 text', "caf\xE9"],
) {
    refused("invalid UTF-8, $c->[0] in a string", post($CHAT, with_content($c->[1])), 400,
            param => undef);
}
refused('invalid UTF-8 in a key', post($CHAT, '{"model":"gpt-4o","\xFF":1,"messages":[{"role":"user","content":"hi"}]}'),
        400, param => undef);
refused('invalid UTF-8 outside strings', post($CHAT, "$valid\xC3"), 400, param => undef);
refused('invalid UTF-8 in images', post($IMAGES, "{\"prompt\":\"a\xFFcat\"}"), 400, param => undef);
refused('invalid UTF-8 in speech', post($SPEECH, "{\"model\":\"tts-1\",\"input\":\"a\xC3\"}"), 400, param => undef);

refused('a raw NUL in a string', post($CHAT, with_content("a\x00b")), 400, param => undef);
refused('a raw NUL after the object', post($CHAT, "$valid\x00"), 400, param => undef);
refused('a raw NUL before the object', post($CHAT, "\x00$valid"), 400, param => undef);
refused('\u0000 in a string', post($CHAT, with_content('a\u0000b')), 400, param => undef);
refused('\u0000 in a key', post($CHAT, '{"model":"gpt-4o","a\u0000":1,"messages":[{"role":"user","content":"hi"}]}'),
        400, param => undef);
refused('\\\\\u0000 (an escaped backslash, then \u0000)', post($CHAT, with_content('a\\\\\u0000b')), 400, param => undef);
refused('\u0000 in images', post($IMAGES, '{"prompt":"a\u0000b"}'), 400, param => undef);
refused('\u0000 in speech', post($SPEECH, '{"model":"tts-1","input":"a\u0000b"}'), 400, param => undef);

# valid: the text "\u0000" (an escaped backslash), 4-byte UTF-8, escaped pairs
my $rec = accepted('the text \\u0000 (escaped backslash)', post($CHAT, with_content('a\\\\u0000b')));
is($rec && $rec->{json}{messages}[0]{content}, 'a\\u0000b', 'the text \\u0000: the backend got it as text');
$rec = accepted('4-byte UTF-8 and an escaped surrogate pair',
                post($CHAT, with_content("\xF0\x9F\x98\x80 \\ud83d\\ude00")));
is($rec && $rec->{json}{messages}[0]{content}, "\x{1F600} \x{1F600}",
   '4-byte UTF-8 and an escaped pair: the backend got both');

# ---------------------------------------------------------------------------
# duplicate keys: the first wins (as cJSON's look-up does), everywhere
# ---------------------------------------------------------------------------

$rec = accepted('duplicate "model": the first wins',
                post($CHAT, '{"model":"gpt-4o-mini","model":"no-such-model","messages":[{"role":"user","content":"dup"}]}'));
is($rec && $rec->{json}{model}, 'gpt-4o-mini', 'duplicate "model": the backend got the first');
refused('duplicate "model": the first wins even when unknown',
        post($CHAT, '{"model":"no-such-model","model":"gpt-4o","messages":[{"role":"user","content":"dup"}]}'),
        404, param => 'model', code => 'model_not_found', type => 'invalid_request_error');
$rec = accepted('duplicate "messages"',
                post($CHAT, '{"model":"gpt-4o","messages":[{"role":"user","content":"first"}],'
                            . '"messages":[{"role":"user","content":"second"}]}'));
is($rec && $rec->{json}{messages}[0]{content}, 'first', 'duplicate "messages": the backend got the first');
$rec = accepted('duplicate "content" in a message',
                post($CHAT, '{"model":"gpt-4o","messages":[{"role":"user","content":"first","content":"second"}]}'));
is($rec && $rec->{json}{messages}[0]{content}, 'first', 'duplicate "content": the first');
$rec = accepted('duplicate "role" in a message',
                post($CHAT, '{"model":"gpt-4o","messages":[{"role":"system","role":"user","content":"x"},'
                            . '{"role":"user","content":"y"}]}'));
is($rec && $rec->{json}{messages}[0]{role}, 'system', 'duplicate "role": the first');
$rec = accepted('duplicate "max_tokens"',
                post($CHAT, '{"model":"gpt-4o","max_tokens":100,"max_tokens":200,"messages":[{"role":"user","content":"x"}]}'));
is($rec && $rec->{json}{max_tokens}, 100, 'duplicate "max_tokens": the first');
my $res = post($CHAT, '{"model":"gpt-4o","stream":false,"stream":true,"messages":[{"role":"user","content":"x"}]}');
like($res->headers->content_type // '', qr{^application/json}, 'duplicate "stream": the first (a whole answer)');
since();
refused('duplicate "n": the first (2) wins', post($CHAT, '{"model":"gpt-4o","n":2,"n":1,"messages":[{"role":"user","content":"x"}]}'),
        400, param => 'n');

# ---------------------------------------------------------------------------
# content types: the body is parsed as JSON whatever the Content-Type says
# ---------------------------------------------------------------------------

refused('a form-encoded body', post($CHAT, 'model=gpt-4o&messages=hello',
        'Content-Type' => 'application/x-www-form-urlencoded'), 400, param => undef);
refused('a multipart body', post($CHAT, "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-4o\r\n--b--\r\n",
        'Content-Type' => 'multipart/form-data; boundary=b'), 400, param => undef);
refused('a gzip-compressed body (Content-Encoding: gzip)', post($CHAT, Compress::Zlib::memGzip($valid),
        'Content-Encoding' => 'gzip'), 400, param => undef);
refused('a JSON body declared Latin-1, in Latin-1', post($CHAT, with_content("caf\xE9"),
        'Content-Type' => 'application/json; charset=iso-8859-1'), 400, param => undef);
accepted('a JSON body sent as text/plain', post($CHAT, $valid, 'Content-Type' => 'text/plain'));
accepted('a JSON body with no Content-Type', raw(req_head($CHAT, 'Content-Length' => length $valid) . $valid));
accepted('a chunked JSON body',
         raw(req_head($CHAT, 'Transfer-Encoding' => 'chunked')
             . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) } $valid =~ /(.{1,7})/gs) . "0\r\n\r\n"));

# ---------------------------------------------------------------------------
# huge strings and size limits
# ---------------------------------------------------------------------------

my $MB = 1024 * 1024;
refused('a 5 MB model name', my $r5 = post($CHAT, chat_body(model => 'm' x (5 * $MB))), 404,
        param => 'model', code => 'model_not_found');
ok(length($r5->body) < 1024, 'a 5 MB model name: the error does not repeat it ('
   . length($r5->body) . ' bytes)');
refused('a 5 MB image prompt', post($IMAGES, { prompt => 'p' x (5 * $MB) }), 400,
        param => 'prompt', code => 'string_above_max_length');
refused('a 5 MB speech input', post($SPEECH, { model => 'tts-1', input => 'i' x (5 * $MB) }), 400,
        param => 'input', code => 'string_above_max_length');
my $rec5 = accepted('a 5 MB key (an unknown field: ignored)',
                   post($CHAT, '{"' . ('k' x (5 * $MB)) . '":1,"model":"gpt-4o",'
                               . '"messages":[{"role":"user","content":"key"}]}'));
ok($rec5 && $rec5->{body} !~ /kkkk/, 'a 5 MB key: not sent on');
undef $rec5;
refused('10,001 messages', post($CHAT, chat_body(messages => [ ({ role => 'user', content => 'x' }) x 10_001 ])),
        400, param => 'messages');

# a 5 MB message is over gpt-4o's context window, even estimated at half;
# without the window it is a fine request: the backend gets it whole
my $big = join '', map { chr(0x61 + $_ % 26) x 1023 . "\x{e9}" } 0 .. 5119;
refused('a 5 MB message, over the context window',
        post($CHAT, msg_body(content => $big)), 400,
        param => 'messages', code => 'context_length_exceeded',
        type => 'invalid_request_error');
# (the mock reads it with pure-Perl JSON, for half a minute on a busy
# machine: a client that waits for it)
my $patient = Mojo::UserAgent->new(inactivity_timeout => 180, request_timeout => 240);
$rec = accepted('a 5 MB message, no window',
                $patient->post($t->url("/nowindow$CHAT") => json => msg_body(content => $big))->result);
ok($rec && defined $rec->{json} && $rec->{json}{messages}[0]{content} eq $big,
   'a 5 MB message: the backend got it byte-exact');
undef $rec;
$t->mock_reset;    # the records are large now
$t->mock_knob($BRIEF);

# over client_max_body_size (32m here): refused before the body is read
$res = raw(req_head($CHAT, 'Content-Type' => 'application/json', 'Content-Length' => 40 * $MB));
refused('a Content-Length over client_max_body_size', $res, 413, code => 'request_too_large', param => undef);

# a chunked body over the limit (64k in /small/v1/): refused as it comes
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port) or die $!;
    syswrite($s, req_head("/small$CHAT", 'Content-Type' => 'application/json',
                          'Transfer-Encoding' => 'chunked'));
    my $chunk = 'x' x 8192;
    for (1 .. 10) { last unless syswrite($s, sprintf("%x\r\n%s\r\n", length $chunk, $chunk)) }
    refused('a chunked body over client_max_body_size',
            Mojo::Message::Response->new->parse(read_all($s, 5)), 413, code => 'request_too_large');
}
accepted('a chunked body under the limit (same location)',
         raw(req_head("/small$CHAT", 'Transfer-Encoding' => 'chunked')
             . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $valid, $valid)));

# header limits (large_client_header_buffers 4 8k): a 400 from nginx
# (its 494, "Request Header Or Cookie Too Large"), 414 for the request line
for my $c (
    ['a 10 KB header line', "X-Big: " . ('a' x 10240) . "\r\n"],
    ['a 10 KB cookie', "Cookie: " . ('a' x 10240) . "\r\n"],
    ['40 KB of headers', join('', map { "X-H$_: " . ('a' x 1000) . "\r\n" } 1 .. 40)],
) {
    my $res = raw("POST $CHAT HTTP/1.1\r\nHost: x\r\n$c->[1]Content-Length: 2\r\n\r\n{}");
    is($res->code, 400, "$c->[0]: 400");
    {
        like($res->headers->content_type // '', qr{^application/json}, "$c->[0]: as JSON");
    }
    is(scalar @{ since() }, 0, "$c->[0]: nothing sent to the backend");
}
refused('a 10 KB request line', raw("POST $CHAT?" . ('q' x 10240) . " HTTP/1.1\r\nHost: x\r\n\r\n"), 414,
        code => 'uri_too_long');
refused('a malformed header line', raw("POST $CHAT HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"), 400,
        code => 'bad_request');
refused('no Host header', raw("POST $CHAT HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"), 400, code => 'bad_request');
refused('Content-Length not a number', raw("POST $CHAT HTTP/1.1\r\nHost: x\r\nContent-Length: ab\r\n\r\n"), 400,
        code => 'bad_request');
refused('Content-Length and Transfer-Encoding both',
        raw("POST $CHAT HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400,
        code => 'bad_request');
refused('a malformed chunk', raw("POST $CHAT HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400,
        code => 'bad_request');
for my $c (
    ['an unknown Transfer-Encoding', "POST $CHAT HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ['HTTP/3.0 over HTTP/1', "POST $CHAT HTTP/3.0\r\nHost: x\r\n\r\n", 505],
) {
    my $res = raw($c->[1]);
    is($res->code, $c->[2], "$c->[0]: $c->[2]");
    {
        like($res->headers->content_type // '', qr{^application/json}, "$c->[0]: as JSON");
    }
    is(scalar @{ since() }, 0, "$c->[0]: nothing sent to the backend");
}

# ---------------------------------------------------------------------------
# slow clients (client_body_timeout, client_header_timeout 1s here)
# ---------------------------------------------------------------------------

# how a slow client's connection ended: 408 JSON or closed, and when
sub slow_end {
    my ($s, $t0) = @_;
    my $got = read_all($s, 5);
    my $secs = time - $t0;
    close $s;
    my $res = Mojo::Message::Response->new->parse($got);
    my $ok = $got eq ''
        || (($res->code // 0) == 408 && ($res->headers->content_type // '') =~ m{^application/json});
    return ($ok, $secs, substr($got, 0, 200));
}

sub slow_conn {
    my ($head, $part) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port) or die $!;
    syswrite($s, $head . $part);
    return $s;
}

my %slow = (
    'a body that stops' => [ map { slow_conn(req_head($CHAT, 'Content-Length' => 100), '{"model":') } 1 .. 20 ],
    'a chunked body that stops' => [ map { slow_conn(req_head($CHAT, 'Transfer-Encoding' => 'chunked'),
                                                     "9\r\n{\"model\":\r\n") } 1 .. 5 ],
    'headers that stop' => [ map { slow_conn("POST $CHAT HTTP/1.1\r\nHost: x\r\n", '') } 1 .. 5 ],
);
my $t0 = time;

# meanwhile nginx serves others at once
my $t1 = time;
$res = $t->chat(messages => [{ role => 'user', content => 'while 30 clients are slow' }]);
is($res->code, 200, 'while 30 clients send slowly, a request is served');
ok(time - $t1 < 0.8, sprintf('... at once (%.2fs)', time - $t1));
since();

# a trickle: a byte every 0.4 s keeps a body alive (the timeout is between
# reads); the first longer pause ends it
my $trickle = slow_conn(req_head($CHAT, 'Content-Length' => 100), '{');
for (1 .. 4) { sleep 0.4; syswrite($trickle, ' ') }
my $t2 = time;

for my $kind (sort keys %slow) {
    my @r = map { [ slow_end($_, $t0) ] } @{ $slow{$kind} };
    my @bad = grep { !$_->[0] } @r;
    my @secs = sort { $a <=> $b } map { $_->[1] } @r;
    ok(!@bad, sprintf('%d x %s: 408 JSON or closed', scalar @r, $kind)) or diag($bad[0][2]);
    ok($secs[0] > 0.8 && $secs[-1] < 3,
       sprintf('%d x %s: ended after %.2f to %.2fs (the timeout is 1s)', scalar @r, $kind, $secs[0], $secs[-1]));
}
my ($ok, $secs, $got) = slow_end($trickle, $t2);
ok($ok, 'a trickle, then a pause: 408 JSON or closed') or diag($got);
ok($secs > 0.5 && $secs < 2.5, sprintf('a trickle, then a pause: ended %.2fs after the last byte', $secs));
is(scalar @{ since() }, 0, 'slow clients: nothing sent to the backend');
my $n408 = () = $t->access_log =~ m{"POST /v1/chat/completions HTTP/1\.1" 408 }g;
ok($n408 >= 26, "slow clients: the access log has their 408s ($n408)");

# ---------------------------------------------------------------------------
# POST /v1/messages: Anthropic's shape, {"type":"error","error":{"type",
# "message"}}, the field leading the message (its errors have no param)

my $MESSAGES = '/v1/messages';

sub refused_anthropic {
    my ($name, $res, $param) = @_;
    my $j = eval { decode_json($res->body) } // {};
    my $e = ref $j->{error} eq 'HASH' ? $j->{error} : {};
    ok($res->code == 400 && ($j->{type} // '') eq 'error'
       && ($e->{type} // '') eq 'invalid_request_error'
       && index($e->{message} // '', "$param: ") == 0,
       "messages: $name: 400, Anthropic's shape, names $param")
        or diag($res->code . ' ' . substr($res->body // '', 0, 300));
    is(scalar @{ since() }, 0, "messages: $name: nothing sent to the backend");
}

sub messages_body {
    my (%over) = @_;
    my %b = (model => 'claude-3-5-sonnet', max_tokens => 16,
             messages => [{ role => 'user', content => 'hello' }]);
    for my $k (keys %over) {
        if (ref $over{$k} eq 'SCALAR' && !defined ${ $over{$k} }) { delete $b{$k} }
        else { $b{$k} = $over{$k} }
    }
    return \%b;
}

sub user_blocks { messages => [{ role => 'user', content => [@_] }] }

refused_anthropic('no max_tokens', post($MESSAGES, messages_body(max_tokens => \undef)),
                  'max_tokens');
for my $row (
    [model => 42], [model => ''],
    [max_tokens => '10'], [max_tokens => 0], [max_tokens => -1], [max_tokens => 1.5],
    [messages => 'x'], [messages => []], [system => 5],
    [stream => 'yes'], [temperature => 'hot'], [top_k => '1'],
    [stop_sequences => 'x'], [metadata => 5], [tools => 'x'], [thinking => 'on'],
) {
    refused_anthropic("$row->[0] " . show($row->[1]),
                      post($MESSAGES, messages_body(@$row)), $row->[0]);
}
for my $row (
    [[{ type => 'image' }], 'system[0]', 'system'],
    [[{ role => 'bot', content => 'x' }], 'messages[0].role'],
    [[{ role => 'user', content => 5 }], 'messages[0].content'],
    [[{ role => 'user', content => [{ type => 'text' }] }], 'messages[0].content[0].text'],
    [[{ role => 'user', content => [{ type => 'audio' }] }], 'messages[0].content[0].type'],
) {
    refused_anthropic("$row->[1] " . show($row->[0]),
                      post($MESSAGES, messages_body(($row->[2] // 'messages') => $row->[0])),
                      $row->[1]);
}
refused_anthropic('an orphan tool_result', post($MESSAGES, messages_body(user_blocks(
    { type => 'tool_result', tool_use_id => 'toolu_nowhere', content => 'r' }))),
    'messages[0].content[0].tool_use_id');
refused_anthropic('an image/bmp image', post($MESSAGES, messages_body(user_blocks(
    { type => 'image', source => { type => 'base64', media_type => 'image/bmp',
                                   data => 'AAAA' } }))),
    'messages[0].content[0].source.media_type');
refused_anthropic('an image that is not base64', post($MESSAGES, messages_body(user_blocks(
    { type => 'image', source => { type => 'base64', media_type => 'image/png',
                                   data => '!!' } }))),
    'messages[0].content[0].source.data');
refused_anthropic('tool_choice {"type":"maybe"}',
                  post($MESSAGES, messages_body(tool_choice => { type => 'maybe' })),
                  'tool_choice.type');
refused_anthropic('a server tool not served (bash)',
                  post($MESSAGES, messages_body(tools => [{ type => 'bash_20250124',
                                                            name => 'bash' }])),
                  'tools[0].type');

# ---------------------------------------------------------------------------

is(worker_pid(), $worker, 'the same worker throughout (no crash)');
is($t->chat->code, 200, 'and it still answers');

$t->finish;

done_testing;
