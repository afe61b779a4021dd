#!/usr/bin/env perl
# POST /v1/messages and /v1/messages/count_tokens, Anthropic's Messages API,
# through the nginx module: whole and streamed answers (every event read,
# their order checked), a tool loop through the mock's model that calls
# tools, thinking from deepseek-r1, an image uploaded, token counts, the
# models list in Anthropic's shape, every error in Anthropic's shape with
# its status (the module's, the backend's, nginx's own), client keys as
# x-api-key, limit_req, CORS, heartbeats, log variables.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(encode_base64 decode_base64);
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new(
    http => 'log_format msgs "$chaton_model|$chaton_backend_model|'
            . '$chaton_stream|$chaton_backend_status|$chaton_uploads|'
            . '$status|$request_uri";',
    server => 'access_log logs/msgs.log msgs;',
    api => "client_max_body_size 256k;\nchaton_stream_wait 1s;\n"
           . "chaton_heartbeat 700ms;",
    backend => 'proxy_read_timeout 8s;');

my $MODEL = 'claude-3-5-sonnet-20241022';
my %V = ('anthropic-version' => '2023-06-01');

sub messages {
    my (%body) = @_;
    my $headers = delete $body{_headers} // {};
    $body{model} //= $MODEL;
    $body{max_tokens} = 256 unless exists $body{max_tokens};
    delete $body{max_tokens} unless defined $body{max_tokens};
    $body{messages} //= [{ role => 'user', content => 'hello' }];
    return $t->post('/v1/messages', \%body, %V, %$headers);
}

sub messages_stream {
    my (%body) = @_;
    $body{model} //= $MODEL;
    $body{max_tokens} //= 256;
    $body{stream} = true;
    $body{messages} //= [{ role => 'user', content => 'hello' }];
    return $t->stream('/v1/messages', \%body, headers => { %V });
}

# {"type":"error","error":{"type","message"}} and nothing else
sub anthropic_error {
    my ($res, $status, $type, $name, $message) = @_;
    my $j = eval { decode_json($res->body) };
    my $e = ref $j eq 'HASH' ? $j->{error} : undef;
    my $ok = $res->code == $status
        && ($res->headers->content_type // '') =~ m{^application/json}
        && ($j->{type} // '') eq 'error' && keys %$j == 2
        && ref $e eq 'HASH' && keys %$e == 2
        && ($e->{type} // '') eq $type
        && defined $e->{message} && length $e->{message}
        && (!$message || $e->{message} =~ $message);
    ok($ok, $name)
        or diag('got ' . $res->code . ' ' . substr($res->body // '', 0, 400));
    return $e;
}

# A stream's events as Anthropic orders them: message_start; blocks, each
# content_block_start, its deltas, content_block_stop, indexes 0, 1, ...;
# message_delta; message_stop; ping anywhere after message_start.  Each
# event's name is its data's type.  Returns the message put together as
# the SDKs do, or undef (with a diagnostic).
sub assemble {
    my ($events) = @_;
    my (@blocks, $msg, $open, $state);
    $state = 'start';

    for my $e (@$events) {
        next if exists $e->{comment};
        my ($name, $j) = ($e->{event} // '', $e->{json});
        return fail_diag("event $name: no JSON") unless ref $j eq 'HASH';
        return fail_diag("event $name, type $j->{type}")
            unless $name eq ($j->{type} // '');

        if ($name eq 'ping') {
            return fail_diag('ping inside a block') if defined $open;
            return fail_diag('ping before message_start') if $state eq 'start';
            next;
        }
        if ($name eq 'message_start') {
            return fail_diag('message_start again') unless $state eq 'start';
            $msg = $j->{message};
            $state = 'blocks';
        } elsif ($name eq 'content_block_start') {
            return fail_diag("block start in $state")
                unless $state eq 'blocks' && !defined $open;
            return fail_diag("block index $j->{index}")
                unless $j->{index} == @blocks;
            $open = $j->{index};
            push @blocks, { %{ $j->{content_block} }, _json => '' };
        } elsif ($name eq 'content_block_delta') {
            return fail_diag('delta outside its block')
                unless defined $open && $j->{index} == $open;
            my ($d, $b) = ($j->{delta}, $blocks[$open]);
            if ($d->{type} eq 'text_delta') { $b->{text} .= $d->{text} }
            elsif ($d->{type} eq 'thinking_delta') {
                $b->{thinking} .= $d->{thinking};
            } elsif ($d->{type} eq 'signature_delta') {
                $b->{signature} = $d->{signature};
            } elsif ($d->{type} eq 'input_json_delta') {
                $b->{_json} .= $d->{partial_json};
            } else { return fail_diag("delta type $d->{type}") }
        } elsif ($name eq 'content_block_stop') {
            return fail_diag('stop of a block not open')
                unless defined $open && $j->{index} == $open;
            my $b = $blocks[$open];
            $b->{input} = decode_json($b->{_json}) if $b->{type} eq 'tool_use';
            delete $b->{_json};
            undef $open;
        } elsif ($name eq 'message_delta') {
            return fail_diag("message_delta in $state")
                unless $state eq 'blocks' && !defined $open;
            $msg->{$_} = $j->{delta}{$_} for keys %{ $j->{delta} };
            $msg->{usage}{output_tokens} = $j->{usage}{output_tokens};
            $state = 'delta';
        } elsif ($name eq 'message_stop') {
            return fail_diag("message_stop in $state")
                unless $state eq 'delta';
            $state = 'stop';
        } else {
            return fail_diag("event $name after $state");
        }
    }

    return fail_diag("ended in $state") unless $state eq 'stop';
    $msg->{content} = \@blocks;
    return $msg;
}

sub fail_diag { diag($_[0]); return undef }

# ---- a whole answer

my $res = messages(system => 'Be brief.',
                   messages => [{ role => 'user', content => 'whole one' }]);
is($res->code, 200, 'whole: 200');
my $m = $res->json;
my $rec = $t->mock_wait('chats', 1)->[-1];
like($m->{id}, qr/^msg_[0-9a-f]{24}$/, 'whole: msg_ id');
is($m->{type}, 'message', 'whole: type message');
is($m->{role}, 'assistant', 'whole: role');
is($m->{model}, $MODEL, 'whole: the model as asked');
is(scalar @{ $m->{content} }, 1, 'whole: one block');
is($m->{content}[0]{type}, 'text', 'whole: a text block');
ChatonTest::is_sent_content($rec, $m->{content}[0]{text},
                            'whole: the text is the backend\'s');
is($m->{stop_reason}, 'end_turn', 'whole: end_turn');
ok(exists $m->{stop_sequence} && !defined $m->{stop_sequence},
   'whole: stop_sequence null');
ok($m->{usage}{input_tokens} > 0 && $m->{usage}{output_tokens} > 0,
   'whole: usage');
is($rec->{json}{model}, 'claude-3-5-sonnet', 'the dated id is ChatOn\'s model');
is($rec->{json}{messages}[0]{role}, 'system', 'system: a system message');
like($rec->{json}{messages}[0]{content}, qr/Be brief\./, 'system: its text');
is($rec->{json}{messages}[-1]{content}, 'whole one', 'the user\'s text');

# count_tokens: the same conversation's input, as usage gives it

$res = $t->post('/v1/messages/count_tokens', { model => $MODEL,
    system => 'Be brief.',
    messages => [{ role => 'user', content => 'whole one' }] }, %V);
is($res->code, 200, 'count_tokens: 200');
is_deeply($res->json, { input_tokens => $m->{usage}{input_tokens} },
          'count_tokens: input_tokens, as the answer\'s usage');
is(scalar @{ $t->mock_requests('chats') }, 1,
   'count_tokens: nothing asked of the backend');

# ---- a stream: every event, in order

my $s = messages_stream(messages => [{ role => 'user',
                                       content => 'stream one' }]);
$rec = $t->mock_wait('chats', 2)->[-1];
is($s->{status}, 200, 'stream: 200');
like($s->{res}->headers->content_type, qr{^text/event-stream},
     'stream: an event stream');
my $a = assemble($s->{events});
ok($a, 'stream: events in Anthropic\'s order');
like($a->{id}, qr/^msg_/, 'stream: msg_ id');
is($a->{model}, $MODEL, 'stream: model');
is(scalar @{ $a->{content} }, 1, 'stream: one text block');
ChatonTest::is_sent_content($rec, $a->{content}[0]{text},
                            'stream: the deltas are the backend\'s text');
is($a->{stop_reason}, 'end_turn', 'stream: end_turn');
ok($a->{usage}{input_tokens} > 0 && $a->{usage}{output_tokens} > 0,
   'stream: usage');
ok(!(grep { ($_->{data} // '') eq '[DONE]' } @{ $s->{events} }),
   'stream: no [DONE]');

# ---- thinking: deepseek-r1's reasoning

$res = messages(model => 'deepseek-r1',
                messages => [{ role => 'user', content => 'think one' }]);
$rec = $t->mock_wait('chats', 3)->[-1];
$m = $res->json;
is_deeply([map { $_->{type} } @{ $m->{content} }], ['thinking', 'text'],
          'thinking: a thinking block, then text');
is($m->{content}[0]{thinking}, $rec->{sent}{reasoning},
   'thinking: the backend\'s reasoning');
ok(exists $m->{content}[0]{signature}, 'thinking: a signature field');

$s = messages_stream(model => 'deepseek-r1',
                     messages => [{ role => 'user', content => 'think two' }]);
$rec = $t->mock_wait('chats', 4)->[-1];
$a = assemble($s->{events});
is_deeply([map { $_->{type} } @{ $a->{content} // [] }],
          ['thinking', 'text'], 'thinking streamed: two blocks');
is($a->{content}[0]{thinking}, $rec->{sent}{reasoning},
   'thinking streamed: the reasoning');
ChatonTest::is_sent_content($rec, $a->{content}[1]{text},
                            'thinking streamed: the text');

# earlier thinking blocks are accepted, and not sent on

$res = messages(messages => [
    { role => 'user', content => 'q' },
    { role => 'assistant', content => [
        { type => 'thinking', thinking => 'secret musing', signature => 'x' },
        { type => 'redacted_thinking', data => 'abc' },
        { type => 'text', text => 'a' }] },
    { role => 'user', content => 'again' }]);
is($res->code, 200, 'thinking in history: 200');
$rec = $t->mock_wait('chats', 5)->[-1];
unlike(encode_json($rec->{json}{messages}), qr/secret musing/,
       'thinking in history: not sent to the backend');

# ---- tools: the loop, whole and streamed

my $weather = { name => 'get_weather', description => 'The weather now',
                input_schema => { type => 'object',
                    properties => { city => { type => 'string' } },
                    required => ['city'] } };
my $ask = 'Weather in Paris? [[tool get_weather {"city":"Paris"}]]';

$res = messages(tools => [$weather],
                messages => [{ role => 'user', content => $ask }]);
$m = $res->json;
is($m->{stop_reason}, 'tool_use', 'tools: stop_reason tool_use');
my ($use) = grep { $_->{type} eq 'tool_use' } @{ $m->{content} };
ok($use, 'tools: a tool_use block');
like($use->{id} // '', qr/^toolu_/, 'tools: a toolu_ id');
is($use->{name}, 'get_weather', 'tools: its name');
is_deeply($use->{input}, { city => 'Paris' }, 'tools: its input, parsed');

$res = messages(tools => [$weather], messages => [
    { role => 'user', content => $ask },
    { role => 'assistant', content => $m->{content} },
    { role => 'user', content => [{ type => 'tool_result',
        tool_use_id => $use->{id}, content => 'sunny, 24 C' }] }]);
is($res->code, 200, 'tools: the result sent back: 200');
like($res->json->{content}[0]{text} // '', qr/The tool said: sunny, 24 C/,
     'tools: the model read the result');
is($res->json->{stop_reason}, 'end_turn', 'tools: the loop ends');

$s = messages_stream(tools => [$weather],
                     messages => [{ role => 'user', content => $ask }]);
$a = assemble($s->{events});
($use) = grep { $_->{type} eq 'tool_use' } @{ $a->{content} // [] };
is_deeply($use && $use->{input}, { city => 'Paris' },
          'tools streamed: input_json_delta joins to the input');
is($a->{stop_reason}, 'tool_use', 'tools streamed: tool_use');

# ---- an image: base64, uploaded first

my $png = decode_base64('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAA'
                        . 'DUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==');
$res = messages(messages => [{ role => 'user', content => [
    { type => 'image', source => { type => 'base64', media_type => 'image/png',
                                   data => encode_base64($png, '') } },
    { type => 'text', text => 'What is this?' }] }]);
is($res->code, 200, 'image: 200');
my $up = $t->mock_wait('upload', 1)->[-1];
is($up && $up->{upload}{sha256}, sha256_hex($png), 'image: uploaded, exact');
$rec = $t->mock_requests('chats')->[-1];
is_deeply($rec->{json}{messages}[-1]{images},
          [{ data => $up->{sent}{getUrl} }], 'image: the upload\'s URL sent');
like($res->json->{content}[0]{text}, qr/^I see 1 image/, 'image: seen');

# ---- models in Anthropic's shape, with anthropic-version

$res = $t->request(GET => '/v1/models', undef, %V);
my $l = $res->json;
ok(@{ $l->{data} } > 0 && !(grep { $_->{type} ne 'model' || !$_->{id}
       || !$_->{display_name}
       || $_->{created_at} !~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ }
       @{ $l->{data} }), 'models: type, id, display_name, created_at');
ok(exists $l->{has_more} && !$l->{has_more}, 'models: has_more false');
is($l->{first_id}, $l->{data}[0]{id}, 'models: first_id');
is($l->{last_id}, $l->{data}[-1]{id}, 'models: last_id');
ok((grep { $_->{id} eq 'claude-3-5-sonnet' } @{ $l->{data} }),
   'models: claude-3-5-sonnet listed');
is($t->request(GET => "/v1/models/$MODEL", undef, %V)->json->{type},
   'model', 'a model in Anthropic\'s shape');
is($t->get('/v1/models')->json->{object}, 'list',
   'without anthropic-version: OpenAI\'s');
anthropic_error($t->request(GET => '/v1/models/nope', undef, %V), 404,
                'not_found_error', 'models: an unknown one');

# ---- errors: the module's

anthropic_error(messages(max_tokens => undef), 400, 'invalid_request_error',
                'no max_tokens', qr/^max_tokens: /);
anthropic_error($t->post('/v1/messages', '{"model":', %V), 400,
                'invalid_request_error', 'not JSON');
anthropic_error(messages(model => 'no-such-model'), 404, 'not_found_error',
                'an unknown model', qr/no-such-model/);
anthropic_error($t->get('/v1/messages'), 405, 'invalid_request_error',
                'GET /v1/messages');
anthropic_error($t->post('/v1/messages/count_tokens', { model => $MODEL },
                         %V), 400, 'invalid_request_error',
                'count_tokens without messages');
anthropic_error($t->request(GET => '/v1/messages/batches', undef, %V), 404,
                'not_found_error', 'an unknown URL with anthropic-version');

# the backend's, mapped

$t->mock_knob({ route => 'chats', status => 529 });
anthropic_error(messages(), 529, 'overloaded_error', 'backend 529: 529');
$t->mock_knob({ route => 'chats', status => 503 });
anthropic_error(messages(), 529, 'overloaded_error', 'backend 503: 529');
$t->mock_knob({ route => 'chats', status => 500 });
anthropic_error(messages(), 502, 'api_error', 'backend 500: 502 api_error');
$t->mock_knob({ route => 'chats', status => 429,
                headers => { 'Retry-After' => '7' } });
$res = messages();
anthropic_error($res, 429, 'rate_limit_error', 'backend 429: 429');
is($res->headers->header('Retry-After'), '7', 'backend 429: Retry-After');
$t->mock_knob({ route => 'upload', status => 500 });
anthropic_error(messages(messages => [{ role => 'user', content => [
    { type => 'image', source => { type => 'base64', media_type => 'image/png',
                                   data => encode_base64($png, '') } }] }]),
    502, 'api_error', 'an upload refused: 502 api_error');

# nginx's own: 413 from client_max_body_size, through error_page

anthropic_error($t->post('/v1/messages', encode_json({ model => $MODEL,
    max_tokens => 5, messages => [{ role => 'user',
    content => 'x' x 300_000 }] }), %V), 413, 'request_too_large',
    'body over client_max_body_size: 413');

# after the 200 went out: an error event, then the end

$t->mock_knob({ route => 'chats', stall_ms => 1600, status => 429 });
$s = messages_stream();
is($s->{status}, 200, 'late error: the 200 had gone');
my $last = $s->{events}[-1];
is($last->{event}, 'error', 'late error: an error event last');
is_deeply([sort keys %{ $last->{json} // {} }], ['error', 'type'],
          'late error: {"type":"error","error":...}');
is($last->{json}{error}{type}, 'rate_limit_error', 'late error: its type');

# ---- heartbeats: Anthropic's ping events, not comments

$t->mock_knob({ route => 'chats', stall_ms => 2600, text => 'late but fine' });
$s = messages_stream();
my @pings = grep { ($_->{event} // '') eq 'ping' } @{ $s->{events} };
ok(@pings >= 2, scalar(@pings) . ' ping events while waiting');
is_deeply($pings[0]{json}, { type => 'ping' }, 'ping: {"type":"ping"}');
my @named = grep { defined $_->{event} } @{ $s->{events} };
is($named[0]{event}, 'message_start',
   'the stream begins with message_start, before the first ping');
ok(!(grep { exists $_->{comment} } @{ $s->{events} }), 'no comment lines');
$a = assemble($s->{events});
is($a && $a->{content}[0]{text}, 'late but fine', 'after the pings: the text');

# ---- CORS

$res = $t->request(OPTIONS => '/v1/messages', undef,
    Origin => 'https://app.example', 'Access-Control-Request-Method' => 'POST');
is($res->code, 204, 'preflight: 204');
my $allow = $res->headers->header('Access-Control-Allow-Headers') // '';
like($allow, qr/\b$_\b/i, "preflight allows $_")
    for qw(anthropic-dangerous-direct-browser-access anthropic-version
           anthropic-beta x-api-key);
$res = $t->request(OPTIONS => '/v1/messages', undef,
    Origin => 'https://app.example', 'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers'
        => 'anthropic-dangerous-direct-browser-access,x-api-key');
like($res->headers->header('Access-Control-Allow-Headers') // '',
     qr/anthropic-dangerous-direct-browser-access/,
     'preflight: the headers asked for');
is(messages(_headers => { Origin => 'https://app.example' })
       ->headers->header('Access-Control-Allow-Origin'), '*',
   'an answer carries CORS');

# ---- log variables

my $log = $t->slurp('logs/msgs.log');
like($log, qr{^\Q$MODEL\E\|claude-3-5-sonnet\|0\|200\|0\|200\|/v1/messages$}m,
     'log: model, backend model, whole, backend status');
like($log, qr{^\Q$MODEL\E\|claude-3-5-sonnet\|1\|200\|0\|200\|/v1/messages$}m,
     'log: a stream');
like($log, qr{^\Q$MODEL\E\|claude-3-5-sonnet\|0\|200\|1\|200\|/v1/messages$}m,
     'log: an upload');
like($log, qr{^\Q$MODEL\E\|claude-3-5-sonnet\|\S*\|-?\|\S*\|200\|/v1/messages/count_tokens$}m,
     'log: count_tokens names its model');

$t->finish;

# ---- client keys (x-api-key) and limit_req

my $k = ChatonTest->new(no_start => 1,
    http => 'limit_req_zone $binary_remote_addr zone=msgs:1m rate=1r/m;',
    api => "chaton_client_keys chaton.clients;\n"
           . "limit_req zone=msgs burst=4 nodelay;\nlimit_req_status 429;");
open my $fh, '>', $k->dir . '/chaton.clients' or die $!;
print $fh "alice sk-ant-alice-key-0123456789\n";
close $fh;
chmod 0600, $k->dir . '/chaton.clients';
$k->start_nginx;

my $body = { model => $MODEL, max_tokens => 10,
             messages => [{ role => 'user', content => 'hi' }] };
anthropic_error($k->post('/v1/messages', $body, %V), 401,
                'authentication_error', 'no key: 401', qr/x-api-key/);
anthropic_error($k->post('/v1/messages', $body, %V,
                         'x-api-key' => 'sk-ant-wrong'),
                401, 'authentication_error', 'a wrong x-api-key: 401');
is($k->post('/v1/messages', $body, %V,
            'x-api-key' => 'sk-ant-alice-key-0123456789')->code, 200,
   'x-api-key: a client key');
is($k->post('/v1/chat/completions', { model => 'gpt-4o',
        messages => [{ role => 'user', content => 'hi' }] },
        'x-api-key' => 'sk-ant-alice-key-0123456789')->code, 200,
   'x-api-key on chat too');

my $limited;
for (1 .. 6) {
    $res = $k->post('/v1/messages', $body, %V,
                    'x-api-key' => 'sk-ant-alice-key-0123456789');
    $limited = $res, last if $res->code == 429;
}
ok($limited, 'limit_req: a 429 came');
anthropic_error($limited, 429, 'rate_limit_error', 'limit_req: 429 in '
                . 'Anthropic\'s shape') if $limited;
ok($limited && $limited->headers->header('Retry-After'),
   'limit_req: Retry-After');

$k->finish;

done_testing;
