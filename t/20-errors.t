#!/usr/bin/env perl
# Every error is an OpenAI error object with a fitting status: the client's
# mistakes, nginx's own errors, and the backend's failures.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new(
    api => "client_max_body_size 64k;\nclient_body_buffer_size 1k;",
    backend => 'proxy_read_timeout 1s;');

*err = \&ChatonTest::is_openai_error;

sub chat_raw { $t->post('/v1/chat/completions', @_) }

# the client's mistakes

err(chat_raw('{"model":"gpt-4o","messages":['), 400, 'truncated JSON');
err(chat_raw('not json at all'), 400, 'not JSON');
err(chat_raw('{"model":"gpt-4o"} trailing'), 400, 'trailing garbage');
err(chat_raw('[1,2]'), 400, 'not an object');
err(chat_raw(''), 400, 'empty body');
err(chat_raw('{"model":"gpt-4o","messages":[{"role":"user","content":"a'
             . "\xff" . '"}]}'), 400, 'invalid UTF-8');
err(chat_raw('{"model":"gpt-4o","messages":[{"role":"user","content":"a\u0000b"}]}'),
    400, 'NUL escape');
err(chat_raw(('[' x 10000) . (']' x 10000)), 400, 'deeply nested');
err($t->chat(model => undef), 400, 'no model', param => 'model');
err($t->chat(model => 42), 400, 'model not a string', param => 'model');
err($t->chat(model => 'gpt-9'), 404, 'unknown model', param => 'model',
    code => 'model_not_found');
err($t->post('/v1/chat/completions', { model => 'gpt-4o' }), 400,
    'no messages', param => 'messages');
err($t->chat(messages => []), 400, 'empty messages', param => 'messages');
err($t->chat(messages => 'hi'), 400, 'messages not an array',
    param => 'messages');
err($t->chat(messages => [{ role => 'robot', content => 'x' }]), 400,
    'bad role', param => 'messages[0].role');
err($t->chat(messages => [{ role => 'user', content => 'a' },
                          { role => 'tool', content => 'x' }]), 400,
    'tool message without tool_call_id', param => 'messages[1].tool_call_id');
err($t->chat(messages => [{ role => 'user', content => 'a' },
                          { role => 'tool', tool_call_id => 'call_1',
                            content => 'x' }]), 400,
    'tool message answering no call', param => 'messages[1].tool_call_id',
    code => 'invalid_value');
err($t->chat(messages => [{ role => 'user', content => [] }]), 400,
    'empty content array', param => 'messages[0].content');
err($t->chat(messages => [{ role => 'user', content => 5 }]), 400,
    'content not a string', param => 'messages[0].content');
err($t->chat(messages => [{ role => 'user', content => [{ type => 'audio' }] }]),
    400, 'unsupported part', param => 'messages[0].content[0]');
err($t->chat(messages => [{ role => 'user', content => '   ' }]), 400,
    'only blank messages', param => 'messages');
err($t->chat(tools => [{ type => 'function', function => { name => 'f g' } }]),
    400, 'tools: a bad name', param => 'tools[0].function.name');
err($t->chat(functions => [{ description => 'f' }]), 400,
    'functions: no name', param => 'functions[0].name');
err($t->chat(tools => [{ type => 'function', function => { name => 'f' } }],
             tool_choice => 'sometimes'), 400, 'tool_choice unknown',
    param => 'tool_choice');
is($t->chat(tools => [])->code, 200, 'empty tools are fine');
err($t->chat(n => 2), 400, 'n > 1', param => 'n');
is($t->chat(n => 1)->code, 200, 'n = 1 is fine');
err($t->chat(stream => 'yes'), 400, 'stream not a boolean', param => 'stream');
err($t->chat(stream_options => []), 400, 'stream_options not an object',
    param => 'stream_options');
err($t->chat(temperature => 7), 400, 'temperature', param => 'temperature');
err($t->chat(max_tokens => 0), 400, 'max_tokens', param => 'max_tokens');
err($t->chat(max_tokens => 1.5), 400, 'max_tokens not an integer',
    param => 'max_tokens');
err($t->chat(function_web_search => 'on'), 400, 'function_web_search',
    param => 'function_web_search');
is(scalar @{ $t->mock_requests('chats') }, 2,
   'none of the refused requests reached the backend');

# nginx's own errors, as JSON through error_page and chaton_error

err(chat_raw('{"model":"gpt-4o","messages":[{"role":"user","content":"'
             . ('x' x 70000) . '"}]}'), 413, 'body over client_max_body_size',
    code => 'request_too_large');
err($t->get('/v1/chat/completions'), 405, 'wrong method',
    code => 'method_not_allowed');
is($t->get('/v1/chat/completions')->headers->header('Allow'), 'POST',
   'wrong method: Allow');
err($t->post('/v1/models', {}), 405, 'POST to models');
err($t->get('/v1/nothing/here'), 404, 'unknown path', code => 'unknown_url');
err($t->get('/v1/' . ('a' x 9000)), 414, 'URI too long');

sub raw_http {
    my ($req) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->port) or die $!;
    print $s $req;
    local $/;
    my $r = <$s>;
    return $r // '';
}

my $raw = raw_http("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                   . "Content-Length: abc\r\n\r\n");
like($raw, qr{^HTTP/1\.1 400 .*\r\nContent-Type: application/json.*"error":\{"message"}s,
     'bad request from nginx: JSON 400');

# a body nginx spooled to a temp file (client_body_buffer_size 1k)

my $long = join ' ', map { "word$_" } 1 .. 2000;
$t->mock_knob({ route => 'chats', text => 'a short answer' });
my $res = $t->chat(messages => [{ role => 'user', content => $long }]);
is($res->code, 200, 'temp-file body: 200');
is($t->mock_requests('chats')->[-1]{json}{messages}[0]{content}, $long,
   'temp-file body: the backend got it whole');
like($t->error_log, qr/a client request body is buffered to a temporary file/,
     'temp-file body: nginx did spool it');

# the backend's errors

$t->mock_knob({ route => 'chats', status => 400,
                body => '{"error":"messages too long for this model"}' });
my $e = err($t->chat, 400, 'backend 400', code => 'backend_rejected');
is($e->{message}, 'messages too long for this model',
   'backend 400: the backend\'s message');

$t->mock_knob({ route => 'chats', status => 429,
                headers => { 'Retry-After' => '7' } });
$res = $t->chat;
err($res, 429, 'backend 429', code => 'rate_limit_exceeded');
is($res->headers->header('Retry-After'), '7', 'backend 429: Retry-After kept');

$t->mock_knob({ route => 'chats', status => 429,
                headers => { 'Retry-After' => '3' } });
my $s = $t->chat_stream;
is($s->{status}, 429, 'backend 429, streamed: a real 429');
is($s->{res}->headers->header('Retry-After'), '3',
   'backend 429, streamed: Retry-After');
like($s->{body}, qr/rate_limit_exceeded/, 'backend 429, streamed: JSON');

$t->mock_knob({ route => 'chats', status => 401,
                body => '{"error":"bad signature"}' });
$e = err($t->chat, 502, 'backend 401', code => 'backend_auth_failed');
like($e->{message}, qr/credentials/, 'backend 401: says credentials');
unlike($e->{message}, qr/signature/, 'backend 401: no backend detail');

like($t->error_log, qr/\[error\] .*chaton: \[[0-9a-f]{32}\] 502 backend_auth_failed: /,
     'errors are logged with the request id');
unlike($t->error_log, qr/\[info\] .*backend_auth_failed/,
       'and once, at error level only');

$t->mock_knob({ route => 'chats', status => 403 });
err($t->chat, 502, 'backend 403', code => 'backend_auth_failed');

$t->mock_knob({ route => 'chats', status => 500, body => 'oops' });
err($t->chat, 502, 'backend 500', code => 'backend_error');

$t->mock_knob({ route => 'chats', status => 503 });
err($t->chat(stream => true), 502, 'backend 503, streamed');

$t->mock_knob({ route => 'chats', status => 200,
                content_type => 'application/json', raw => '{"ok":true}' });
err($t->chat, 502, 'backend 200 but not an event stream',
    code => 'bad_backend_answer');

# silent backend: before the answer 504, in a stream an error event

$t->mock_knob({ route => 'chats', stall_ms => 2500 });
err($t->chat, 504, 'backend silent', code => 'backend_timeout');

$t->mock_knob({ route => 'chats', stall_after_events => 6,
                stall_body_ms => 2500 });
$s = $t->chat_stream;
is($s->{status}, 200, 'silent mid-stream: 200 already sent');
my @ev = @{ $s->{events} };
is($ev[-1]{json}{error}{code}, 'backend_timeout',
   'silent mid-stream: ends with an error event');
ok(!(grep { ($_->{data} // '') eq '[DONE]' } @ev),
   'silent mid-stream: no [DONE]');

$t->mock_knob({ route => 'chats', stall_after_events => 6,
                stall_body_ms => 2500 });
err($t->chat, 504, 'silent mid-answer, whole: 504');

# the backend closes early: never passed off as complete

$t->mock_knob({ route => 'chats', drop_after_events => 6 });
$s = $t->chat_stream;
@ev = @{ $s->{events} };
is($s->{status}, 200, 'truncated stream: 200');
ok(!$s->{error}, 'truncated stream: the response itself ends cleanly');
is($ev[-1]{json}{error}{code}, 'backend_truncated',
   'truncated stream: an error event last');
ok(!(grep { ($_->{data} // '') eq '[DONE]' } @ev), 'truncated: no [DONE]');

$t->mock_knob({ route => 'chats', drop_mid_event => 1,
                drop_after_events => 5 });
$s = $t->chat_stream;
is($s->{events}[-1]{json}{error}{code}, 'backend_truncated',
   'truncated mid-event: error event');

$t->mock_knob({ route => 'chats', drop_after_events => 6 });
err($t->chat, 502, 'truncated, whole: 502', code => 'backend_truncated');

# broken events

$t->mock_knob({ route => 'chats',
                events => ['{"choices":[{"delta":{"content":"ok "}}]}',
                           '{"choices":[{"delta":{"content":"no'] });
$s = $t->chat_stream;
@ev = @{ $s->{events} };
is(ChatonTest::stream_text(\@ev), 'ok ', 'bad event: what came before');
is($ev[-1]{json}{error}{code}, 'bad_backend_event',
   'bad event: an error event');

$t->mock_knob({ route => 'chats',
                events => ['{"choices":[{"delta":{"content":"a"}}]}',
                           '{"error":{"message":"quota exceeded"}}'] });
$s = $t->chat_stream;
is($s->{events}[-1]{json}{error}{message}, 'quota exceeded',
   'backend error event: its message');

$t->mock_knob({ route => 'chats',
                events => ['{"error":"model overloaded"}'] });
$e = err($t->chat, 502, 'backend error event, whole');
is($e->{message}, 'model overloaded', 'backend error event, whole: message');

# a compressed answer that was not asked for: no garbage passed on

$t->mock_knob({ route => 'chats', gzip => true });
err($t->chat, 502, 'gzip not asked for', code => 'bad_backend_answer');
$t->mock_knob({ route => 'chats', gzip => true });
err($t->chat(stream => true), 502, 'gzip not asked for, streamed: a real 502',
    code => 'bad_backend_answer');

$t->mock_knob({ route => 'chats', raw => "this is not an event stream\n" });
err($t->chat, 502, 'garbage', code => 'backend_truncated');

$t->finish;

# a backend that is not there at all

my $t2 = ChatonTest->new(no_mock => 1);
err($t2->chat, 502, 'backend refused', code => 'backend_unreachable');
err($t2->chat(stream => true), 502, 'backend refused, streamed');
$t2->finish;

done_testing;
