#!/usr/bin/env perl
# POST /v1/responses, OpenAI's Responses API, through the nginx module:
# whole and streamed answers (every event read, its order and fields
# checked), the response object repeating the request's fields, a tool
# loop (function_call / function_call_output) and a custom tool's
# (custom_tool_call / custom_tool_call_output) through the mock's model
# that calls tools, text.format, reasoning from deepseek-r1, errors in
# OpenAI's shape (the module's, the backend's, after the 200), client
# keys, limit_req, CORS, heartbeats, log variables.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new(
    http => 'log_format resp "$chaton_model|$chaton_backend_model|'
            . '$chaton_stream|$chaton_backend_status|$status|$request_uri";'
            . "\nchaton_metrics_zone chaton_metrics 1m;",
    server => "access_log logs/resp.log resp;\n"
              . 'location = /metrics { chaton_metrics; }',
    api => "client_max_body_size 256k;\nchaton_stream_wait 1s;\n"
           . "chaton_heartbeat 700ms;\nchaton_function_web_search off;",
    backend => 'proxy_read_timeout 8s;');

my $MODEL = 'gpt-4o';

sub responses {
    my (%body) = @_;
    my $headers = delete $body{_headers} // {};
    $body{model} //= $MODEL;
    $body{input} //= 'hello';
    return $t->post('/v1/responses', \%body, %$headers);
}

sub responses_stream {
    my (%body) = @_;
    $body{model} //= $MODEL;
    $body{input} //= 'hello';
    $body{stream} = true;
    return $t->stream('/v1/responses', \%body);
}

my $fails;

sub fail_diag { diag(shift); return undef }

# The fields of every event of an item, as the SDK's types have them
my %KEYS = (
    'response.output_item.added' => [qw(output_index item)],
    'response.output_item.done' => [qw(output_index item)],
    'response.content_part.added' =>
        [qw(item_id output_index content_index part)],
    'response.content_part.done' =>
        [qw(item_id output_index content_index part)],
    'response.output_text.delta' =>
        [qw(item_id output_index content_index delta logprobs)],
    'response.output_text.done' =>
        [qw(item_id output_index content_index text logprobs)],
    'response.reasoning_summary_part.added' =>
        [qw(item_id output_index summary_index part)],
    'response.reasoning_summary_part.done' =>
        [qw(item_id output_index summary_index part)],
    'response.reasoning_summary_text.delta' =>
        [qw(item_id output_index summary_index delta)],
    'response.reasoning_summary_text.done' =>
        [qw(item_id output_index summary_index text)],
    'response.function_call_arguments.delta' =>
        [qw(item_id output_index delta)],
    'response.function_call_arguments.done' =>
        [qw(item_id output_index name arguments)],
    'response.custom_tool_call_input.delta' =>
        [qw(item_id output_index delta)],
    'response.custom_tool_call_input.done' =>
        [qw(item_id output_index input)],
    'response.created' => [qw(response)],
    'response.in_progress' => [qw(response)],
    'response.completed' => [qw(response)],
    'response.incomplete' => [qw(response)],
    'response.failed' => [qw(response)],
);

# A stream's events in OpenAI's order: created, in_progress, then each
# item (output_item.added, its part added, deltas, done events,
# output_item.done) at output_index 0, 1, ...; then completed, incomplete
# or failed.  Every event named by its type, sequence_number 0, 1, ...,
# exactly its fields.  Returns {response => the last event's, items =>
# the items as the events built them} or undef (with a diagnostic).
sub assemble {
    my ($events) = @_;
    my @ev = grep { exists $_->{data} } @$events;
    my (@items, $cur, $seq, $state);
    $seq = 0;
    $state = 'start';

    for my $e (@ev) {
        my $j = $e->{json} or return fail_diag("not JSON: $e->{data}");
        my $type = $j->{type} // '';
        return fail_diag("event '$e->{event}' has type '$type'")
            unless ($e->{event} // '') eq $type;
        return fail_diag("sequence_number $j->{sequence_number}, not $seq")
            unless ($j->{sequence_number} // -1) == $seq++;
        my $want = $KEYS{$type} or return fail_diag("unknown event $type");
        my @got = sort grep { $_ ne 'type' && $_ ne 'sequence_number' }
                  keys %$j;
        return fail_diag("$type has " . join(',', @got))
            unless "@got" eq join(' ', sort @$want);

        if ($state eq 'start') {
            return fail_diag("first $type") unless $type eq 'response.created';
            $state = 'created';
            next;
        }
        if ($state eq 'created') {
            return fail_diag("then $type")
                unless $type eq 'response.in_progress';
            $state = 'items';
            next;
        }
        return fail_diag("$type after the end") if $state eq 'end';

        if ($type =~ /^response\.(completed|incomplete|failed)$/) {
            return fail_diag("$type inside an item") if $cur;
            $state = 'end';
            return { response => $j->{response}, items => \@items };
        }
        if ($type eq 'response.output_item.added') {
            return fail_diag('an item inside an item') if $cur;
            return fail_diag("output_index $j->{output_index}")
                unless $j->{output_index} == @items;
            $cur = { %{ $j->{item} }, _text => '' };
            next;
        }
        return fail_diag("$type outside an item") unless $cur;
        return fail_diag("$type: output_index") unless $j->{output_index} == @items;
        if ($type eq 'response.output_item.done') {
            return fail_diag('the done item is another')
                unless $j->{item}{id} eq $cur->{id};
            push @items, { %{ $j->{item} }, _text => $cur->{_text} };
            undef $cur;
            next;
        }
        return fail_diag("$type: item_id") unless $j->{item_id} eq $cur->{id};
        $cur->{_text} .= $j->{delta} if $type =~ /\.delta$/;
        if ($type =~ /\.done$/ && $type !~ /part\.done$/) {
            my $whole = $j->{text} // $j->{arguments} // $j->{input};
            return fail_diag("$type: not the deltas joined")
                unless $whole eq $cur->{_text};
        }
    }
    return fail_diag("no end ($state)");
}

sub message_text {
    my ($r) = @_;
    return join '', map { $_->{text} } map { @{ $_->{content} // [] } }
                    grep { $_->{type} eq 'message' } @{ $r->{output} // [] };
}

my ($res, $r, $s, $a, $rec, $fh);

# ---- whole

$res = responses(input => 'hello', instructions => 'Be brief.',
                 max_output_tokens => 300, temperature => 0.5, top_p => 0.9,
                 metadata => { k => 'v' }, user => 'u1',
                 truncation => 'auto', reasoning => { effort => 'low' },
                 prompt_cache_key => 'pk', safety_identifier => 'si',
                 service_tier => 'auto', top_logprobs => 0,
                 text => { verbosity => 'low' },
                 include => ['reasoning.encrypted_content']);
is($res->code, 200, 'whole: 200');
$r = $res->json;
$rec = $t->mock_wait('chats', 1)->[-1];
like($r->{id} // '', qr/^resp_[0-9a-f]{24}$/, 'whole: a resp_ id');
is($r->{object}, 'response', 'whole: object response');
is($r->{status}, 'completed', 'whole: completed');
is($r->{model}, $MODEL, 'whole: the model as asked');
ok(abs(($r->{created_at} // 0) - time) < 60, 'whole: created_at, now');
is(scalar @{ $r->{output} }, 1, 'whole: one output item');
is($r->{output}[0]{type}, 'message', 'whole: a message');
is($r->{output}[0]{role}, 'assistant', 'whole: the assistant\'s');
is($r->{output}[0]{status}, 'completed', 'whole: the item completed');
like($r->{output}[0]{id} // '', qr/^msg_/, 'whole: a msg_ item id');
ChatonTest::is_sent_content($rec, message_text($r), 'whole: the text');
ok($r->{usage}{input_tokens} > 0 && $r->{usage}{output_tokens} > 0
   && $r->{usage}{total_tokens} == $r->{usage}{input_tokens}
                                   + $r->{usage}{output_tokens},
   'whole: usage');
ok(exists $r->{usage}{output_tokens_details}{reasoning_tokens},
   'whole: reasoning_tokens');
is($r->{instructions}, 'Be brief.', 'echo: instructions');
is($r->{max_output_tokens}, 300, 'echo: max_output_tokens');
is($r->{temperature}, 0.5, 'echo: temperature');
is($r->{top_p}, 0.9, 'echo: top_p');
is_deeply($r->{metadata}, { k => 'v' }, 'echo: metadata');
is($r->{user}, 'u1', 'echo: user');
is($r->{truncation}, 'auto', 'echo: truncation');
is_deeply($r->{reasoning}, { effort => 'low' }, 'echo: reasoning');
is($r->{prompt_cache_key}, 'pk', 'echo: prompt_cache_key');
is($r->{safety_identifier}, 'si', 'echo: safety_identifier');
is($r->{service_tier}, 'auto', 'echo: service_tier');
is_deeply($r->{text}, { verbosity => 'low', format => { type => 'text' } },
          'echo: text, with the default format');
is($r->{parallel_tool_calls}, true, 'echo: parallel_tool_calls default');
is($r->{tool_choice}, 'auto', 'echo: tool_choice default');
is_deeply($r->{tools}, [], 'echo: tools default');
ok(exists $r->{previous_response_id} && !defined $r->{previous_response_id},
   'echo: previous_response_id null');
is($r->{error}, undef, 'whole: error null');
is($r->{incomplete_details}, undef, 'whole: incomplete_details null');
is($rec->{json}{messages}[0]{role}, 'system', 'instructions: a system '
   . 'message first');
is($rec->{json}{messages}[0]{content}, 'Be brief.', 'instructions: its text');
is($rec->{json}{messages}[-1]{content}, 'hello', 'input: the user message');

# ---- stream

$s = responses_stream(input => 'tell me a story', max_output_tokens => 500);
is($s->{status}, 200, 'stream: 200');
like($s->{res}->headers->content_type // '', qr{^text/event-stream},
     'stream: text/event-stream');
$rec = $t->mock_wait('chats', 2)->[-1];
$a = assemble($s->{events});
ok($a, 'stream: the events in OpenAI\'s order, each with its fields');
is($a && $a->{response}{status}, 'completed', 'stream: response.completed');
is($a && $a->{items}[0]{type}, 'message', 'stream: a message item');
ChatonTest::is_sent_content($rec, $a ? $a->{items}[0]{_text} : '',
                            'stream: the deltas are the text');
is($a && message_text($a->{response}), $a && $a->{items}[0]{_text},
   'stream: the final response has the text');
is($a && $a->{response}{max_output_tokens}, 500,
   'stream: max_output_tokens repeated');
ok(!(grep { ($_->{data} // '') eq '[DONE]' } @{ $s->{events} }),
   'stream: no [DONE]');
{
    my @named = grep { exists $_->{data} } @{ $s->{events} };
    my $created = $named[0]{json}{response};
    is($created && $created->{status}, 'in_progress',
       'stream: created in_progress');
    is($created && $created->{id}, $a && $a->{response}{id},
       'stream: one id throughout');
}

# ---- tools: the loop, whole

my $weather = { type => 'function', name => 'get_weather',
                description => 'The weather now',
                parameters => { type => 'object',
                    properties => { city => { type => 'string' } },
                    required => ['city'] } };
my $ask = 'Weather in Paris? [[tool get_weather {"city":"Paris"}]]';

$res = responses(tools => [$weather], input => $ask);
$r = $res->json;
my ($call) = grep { $_->{type} eq 'function_call' } @{ $r->{output} // [] };
ok($call, 'tools: a function_call item');
like($call->{id} // '', qr/^fc_/, 'tools: an fc_ item id');
like($call->{call_id} // '', qr/^call_/, 'tools: a call_ call_id');
is($call->{name}, 'get_weather', 'tools: its name');
is_deeply(decode_json($call->{arguments} // '{}'), { city => 'Paris' },
          'tools: its arguments');
is($call->{status}, 'completed', 'tools: completed');
is($r->{tools}[0]{name}, 'get_weather', 'echo: the tools');

$res = responses(tools => [$weather], input => [
    { role => 'user', content => $ask },
    $call,
    { type => 'function_call_output', call_id => $call->{call_id},
      output => 'sunny, 24 C' }]);
is($res->code, 200, 'tools: the output sent back: 200');
like(message_text($res->json), qr/The tool said: sunny, 24 C/,
     'tools: the model read the output');

# streamed

$s = responses_stream(tools => [$weather], input => $ask);
$a = assemble($s->{events});
($call) = grep { $_->{type} eq 'function_call' } @{ $a ? $a->{items} : [] };
ok($call, 'tools streamed: a function_call item');
is_deeply(decode_json(($call && $call->{_text}) || '{}'), { city => 'Paris' },
          'tools streamed: function_call_arguments deltas join to them');
is($call && $call->{arguments}, $call && $call->{_text},
   'tools streamed: the item done has them');

# ---- a custom (freeform) tool, as Codex's apply_patch

my $patch = { type => 'custom', name => 'apply_patch',
              description => 'Apply a patch',
              format => { type => 'grammar', syntax => 'lark',
                          definition => 'start: "*** Begin Patch" /.+/' } };
$ask = 'Patch it [[tool apply_patch {"input":"*** Begin Patch\nX"}]]';
$res = responses(tools => [$patch], input => $ask);
is($res->code, 200, 'custom tool: 200');
$rec = $t->mock_requests('chats')->[-1];
like($rec->{json}{messages}[0]{content}, qr/start: "\*\*\* Begin Patch"/,
     'custom tool: its grammar told to the model');
($call) = grep { $_->{type} eq 'custom_tool_call' }
          @{ $res->json->{output} // [] };
ok($call, 'custom tool: a custom_tool_call item');
is($call && $call->{input}, "*** Begin Patch\nX",
   'custom tool: its input, a string');
like($call && $call->{call_id} // '', qr/^call_/, 'custom tool: call_id');

$res = responses(tools => [$patch], input => [
    { role => 'user', content => $ask },
    $call,
    { type => 'custom_tool_call_output', call_id => $call->{call_id},
      output => 'Done!' }]);
is($res->code, 200, 'custom tool: the output sent back: 200');
like(message_text($res->json), qr/The tool said: Done!/,
     'custom tool: the model read the output');

$s = responses_stream(tools => [$patch], input => $ask);
$a = assemble($s->{events});
($call) = grep { $_->{type} eq 'custom_tool_call' }
          @{ $a ? $a->{items} : [] };
is($call && $call->{_text}, "*** Begin Patch\nX",
   'custom tool streamed: custom_tool_call_input deltas');

# ---- a namespace of tools, as Codex's multi_agent_v1: its tools offered
# as "<namespace>.<name>", a call of one a function_call with "namespace"

my $agents = { type => 'namespace', name => 'multi_agent_v1',
               description => 'Sub-agents you can start.',
               tools => [{ type => 'function', name => 'spawn_agent',
                           description => 'Start an agent',
                           strict => false,
                           parameters => { type => 'object', properties =>
                               { task => { type => 'string' } } } }] };
my $top = { type => 'function', name => 'spawn_agent',
            description => 'A top-level one of the same name' };
$ask = 'Delegate [[tool multi_agent_v1.spawn_agent {"task":"lint"}]]';
$res = responses(tools => [$top, $agents], input => $ask);
is($res->code, 200, 'namespace: 200');
$rec = $t->mock_requests('chats')->[-1];
like($rec->{json}{messages}[0]{content},
     qr/^## multi_agent_v1\.spawn_agent\n.*Sub-agents you can start\./ms,
     'namespace: its tool offered by its long name, with its description');
like($rec->{json}{messages}[0]{content}, qr/^## spawn_agent$/m,
     'namespace: the top-level tool of the same name offered too');
($call) = grep { $_->{type} eq 'function_call' } @{ $res->json->{output} };
is($call && $call->{namespace}, 'multi_agent_v1',
   'namespace: the call\'s namespace');
is($call && $call->{name}, 'spawn_agent', 'namespace: the tool\'s own name');
is_deeply(decode_json(($call && $call->{arguments}) || '{}'),
          { task => 'lint' }, 'namespace: its arguments');
is($res->json->{tools}[1]{type}, 'namespace', 'echo: the namespace tool');

$res = responses(tools => [$top, $agents], input => [
    { role => 'user', content => $ask },
    $call,
    { type => 'function_call_output', call_id => $call->{call_id},
      output => 'agent 7 started' }]);
is($res->code, 200, 'namespace: the call and output sent back: 200');
$rec = $t->mock_requests('chats')->[-1];
like(encode_json($rec->{json}{messages}),
     qr/\\"name\\": ?\\"multi_agent_v1\.spawn_agent\\"/,
     'namespace: the call in the history is the namespace\'s tool\'s');
like(message_text($res->json), qr/The tool said: agent 7 started/,
     'namespace: the model read the output');

$res = responses(tools => [$top, $agents],
                 input => 'Top [[tool spawn_agent {}]]');
($call) = grep { $_->{type} eq 'function_call' } @{ $res->json->{output} };
ok($call && !exists $call->{namespace},
   'namespace: a call of the top-level tool has none');

$s = responses_stream(tools => [$agents], input => $ask);
$a = assemble($s->{events});
($call) = grep { $_->{type} eq 'function_call' } @{ $a ? $a->{items} : [] };
is($call && "$call->{namespace}/$call->{name}",
   'multi_agent_v1/spawn_agent', 'namespace streamed: the item done');
my ($added) = grep { ($_->{json}{type} // '') eq 'response.output_item.added'
                     && $_->{json}{item}{type} eq 'function_call' }
              grep { exists $_->{data} } @{ $s->{events} };
is($added && $added->{json}{item}{namespace}, 'multi_agent_v1',
   'namespace streamed: the item added');
is_deeply(decode_json(($call && $call->{_text}) || '{}'), { task => 'lint' },
          'namespace streamed: the arguments\' deltas');

# ---- text.format

$res = responses(input => 'give json', text => { format => {
    type => 'json_schema', name => 'city_info', strict => true,
    schema => { type => 'object', properties => { city => {
        type => 'string' } }, required => ['city'] } } });
is($res->code, 200, 'text.format json_schema: 200');
$rec = $t->mock_requests('chats')->[-1];
like(encode_json($rec->{json}{messages}), qr/city_info/,
     'text.format: the schema told to the model');
is($res->json->{text}{format}{type}, 'json_schema',
   'echo: text.format');

# ---- reasoning: deepseek-r1's

$res = responses(model => 'deepseek-r1', input => 'think one');
$rec = $t->mock_requests('chats')->[-1];
$r = $res->json;
is_deeply([map { $_->{type} } @{ $r->{output} }], ['reasoning', 'message'],
          'reasoning: a reasoning item, then the message');
is($r->{output}[0]{summary}[0]{text}, $rec->{sent}{reasoning},
   'reasoning: the backend\'s reasoning as its summary');
is($r->{output}[0]{summary}[0]{type}, 'summary_text',
   'reasoning: summary_text');

$s = responses_stream(model => 'deepseek-r1', input => 'think two');
$a = assemble($s->{events});
ok($a, 'reasoning streamed: the events in order');
is_deeply([map { $_->{type} } @{ $a ? $a->{items} : [] }],
          ['reasoning', 'message'], 'reasoning streamed: two items');

# reasoning items in the input: accepted, not sent
$res = responses(input => [
    { role => 'user', content => 'q' },
    { type => 'reasoning', id => 'rs_1', summary => [
        { type => 'summary_text', text => 'secret musing' }] },
    { role => 'assistant', content => [{ type => 'output_text', text => 'a' }] },
    { role => 'user', content => 'again' }]);
is($res->code, 200, 'reasoning in the input: 200');
$rec = $t->mock_requests('chats')->[-1];
unlike(encode_json($rec->{json}{messages}), qr/secret musing/,
       'reasoning in the input: not sent to the backend');

# ---- a length stop: incomplete

$t->mock_knob({ route => 'chats', events => [
    '{"choices":[{"delta":{"content":"Once upon"}}]}',
    '{"choices":[{"delta":{},"finish_reason":"length"}]}'] });
$res = responses(max_output_tokens => 16);
is($res->json->{status}, 'incomplete', 'length: incomplete');
is_deeply($res->json->{incomplete_details}, { reason => 'max_output_tokens' },
          'length: incomplete_details');

# ---- errors in OpenAI's shape

ChatonTest::is_openai_error($t->post('/v1/responses', { model => $MODEL }),
    400, 'no input: 400', param => 'input');
ChatonTest::is_openai_error(responses(model => 'no-such-model'), 404,
    'unknown model: 404', code => 'model_not_found');
ChatonTest::is_openai_error($t->get('/v1/responses'), 405,
    'GET /v1/responses: 405');

$t->mock_knob({ route => 'chats', status => 429 });
ChatonTest::is_openai_error(responses(), 429, 'backend 429: 429',
                            type => 'rate_limit_error');
$t->mock_knob({ route => 'chats', status => 500 });
ChatonTest::is_openai_error(responses(), 502, 'backend 500: 502');

# after the 200: response.failed, the last event
$t->mock_knob({ route => 'chats', stall_ms => 1600, status => 429 });
$s = responses_stream();
is($s->{status}, 200, 'late error: the 200 had gone');
my @data = grep { exists $_->{data} } @{ $s->{events} };
is($data[-1]{event}, 'response.failed', 'late error: response.failed last');
is($data[-1]{json}{response}{status}, 'failed', 'late error: status failed');
ok($data[-1]{json}{response}{error}{message},
   'late error: the error\'s message');

# ---- bad input: a 400 naming the parameter

my @bad = (
    [{ input => 5 }, 'input'],
    [{ input => [5] }, 'input[0]'],
    [{ input => [{ type => 'frobnicate' }] }, 'input[0].type'],
    [{ input => [{ type => 'item_reference', id => 'x' }] }, 'input[0].id'],
    [{ input => [{ role => 'robot', content => 'x' }] }, 'input[0].role'],
    [{ input => [{ role => 'user', content => 5 }] }, 'input[0].content'],
    [{ input => [{ role => 'user', content => [{ type => 'video' }] }] },
     'input[0].content[0].type'],
    [{ input => [{ type => 'function_call_output', call_id => 'call_nope',
                   output => 'x' }] }, 'input[0].call_id'],
    [{ input => [{ type => 'custom_tool_call_output', call_id => 'call_nope',
                   output => 'x' }] }, 'input[0].call_id'],
    [{ input => [{ type => 'function_call', call_id => 'c', name => 'f',
                   arguments => 'not json' }] }, 'input[0].arguments'],
    [{ input => [{ type => 'custom_tool_call', call_id => 'c', name => 'f',
                   input => 5 }] }, 'input[0].input'],
    [{ max_output_tokens => 'ten' }, 'max_output_tokens'],
    [{ max_output_tokens => 10.5 }, 'max_output_tokens'],
    [{ max_output_tokens => 0 }, 'max_output_tokens'],
    [{ temperature => 3 }, 'temperature'],
    [{ top_p => 'x' }, 'top_p'],
    [{ top_logprobs => 21 }, 'top_logprobs'],
    [{ stream => 'yes' }, 'stream'],
    [{ store => 'yes' }, 'store'],
    [{ parallel_tool_calls => 1 }, 'parallel_tool_calls'],
    [{ tools => [{ type => 'web_search', external_web_access => 'no' }] },
     'tools[0].external_web_access'],
    [{ tools => [{ type => 'namespace', name => 'n', tools => [] }] },
     'tools[0].tools'],
    [{ tools => [{ type => 'namespace', name => 'n',
                   tools => [{ type => 'mcp' }] }] }, 'tools[0].tools[0].type'],
    [{ input => [{ type => 'function_call', call_id => 'c', name => 'f',
                   namespace => 5, arguments => '{}' }] },
     'input[0].namespace'],
    [{ background => true }, 'background'],
    [{ background => 'x' }, 'background'],
    [{ conversation => 'conv_1' }, 'conversation'],
    [{ prompt => { id => 'pmpt_1' } }, 'prompt'],
    [{ instructions => 5 }, 'instructions'],
    [{ metadata => 'x' }, 'metadata'],
    [{ user => 5 }, 'user'],
    [{ reasoning => 'high' }, 'reasoning'],
    [{ truncation => 'sometimes' }, 'truncation'],
    [{ service_tier => 'gold' }, 'service_tier'],
    [{ prompt_cache_key => 5 }, 'prompt_cache_key'],
    [{ safety_identifier => [] }, 'safety_identifier'],
    [{ stream_options => 5 }, 'stream_options'],
    [{ previous_response_id => 5 }, 'previous_response_id'],
    [{ include => ['everything'] }, 'include[0]'],
    [{ include => 'x' }, 'include'],
    [{ text => 5 }, 'text'],
    [{ text => { verbosity => 'loud' } }, 'text.verbosity'],
    [{ text => { format => { type => 'yaml' } } }, 'text.format.type'],
    [{ tools => 5 }, 'tools'],
    [{ tools => [{ type => 'file_search' }] }, 'tools[0].type'],
    [{ tools => [{ type => 'local_shell' }] }, 'tools[0].type'],
    [{ tools => [{ type => 'computer_use_preview' }] }, 'tools[0].type'],
    [{ tools => [{ type => 'function', name => 'bad name!' }] },
     'tools[0].name'],
    [{ tools => [{ type => 'custom', name => 'x',
                   format => { type => 'regex' } }] }, 'tools[0].format'],
    [{ tool_choice => 'sometimes' }, 'tool_choice'],
    [{ tools => [$weather], tool_choice => { type => 'function',
                                             name => 'nope' } },
     'tool_choice.name'],
);
for my $b (@bad) {
    my ($body, $param) = @$b;
    my %body = (model => $MODEL, input => 'hi', %$body);
    $res = $t->post('/v1/responses', \%body);
    ChatonTest::is_openai_error($res, 400, 'bad input: ' . encode_json($body),
                                param => $param);
}

# accepted and not used
for my $ok ({ context_management => [] }, { moderation => {} },
            { prompt_cache_retention => '24h' },
            { stream_options => { include_obfuscation => false } },
            { background => false }, { conversation => undef },
            { parallel_tool_calls => false }, { store => false }) {
    is(responses(%$ok)->code, 200, 'accepted: ' . encode_json($ok));
}

# ---- web_search: ChatOn's

$res = responses();
$rec = $t->mock_requests('chats')->[-1];
is($rec->{json}{function_web_search}, false, 'no web_search tool: off');
$res = responses(tools => [{ type => 'web_search' }]);
is($res->code, 200, 'web_search tool: 200');
$rec = $t->mock_requests('chats')->[-1];
is($rec->{json}{function_web_search}, true,
   'web_search tool: the backend\'s web search on');
# Codex's: cached results only, which the gateway has not: no web search
$res = responses(tools => [{ type => 'web_search',
                             external_web_access => false }]);
is($res->code, 200, 'web_search, external_web_access false: 200');
$rec = $t->mock_requests('chats')->[-1];
is($rec->{json}{function_web_search}, false,
   'web_search, external_web_access false: the backend\'s web search off');
is($res->json->{tools}[0]{external_web_access}, false,
   'web_search, external_web_access false: echoed as sent');
$res = responses(tools => [{ type => 'web_search',
                             external_web_access => true }]);
$rec = $t->mock_requests('chats')->[-1];
is($rec->{json}{function_web_search}, true,
   'web_search, external_web_access true: on');

# ---- heartbeats: comment lines while the backend is slow

$t->mock_knob({ route => 'chats', stall_ms => 2600, text => 'late but fine' });
$s = responses_stream();
ok((grep { exists $_->{comment} } @{ $s->{events} }) >= 2,
   'heartbeats: comment lines while waiting');
$a = assemble($s->{events});
is($a && $a->{items}[0]{_text}, 'late but fine', 'after the beats: the text');

# ---- the store (make run's: zone chaton_responses, an hour)

my $r1 = responses(input => 'first question', instructions => 'Be brief.')
         ->json;
is($r1->{store}, true, 'store: "store" true by default');
$res = $t->get("/v1/responses/$r1->{id}");
is($res->code, 200, 'GET /v1/responses/{id}: 200');
is_deeply($res->json, $r1, 'GET: the response as it was answered');

# continued: the stored items first, the instructions not carried over
$res = responses(previous_response_id => $r1->{id}, input => 'and then?');
is($res->code, 200, 'previous_response_id: 200');
my $r2 = $res->json;
is($r2->{previous_response_id}, $r1->{id}, 'echo: previous_response_id');
$rec = $t->mock_requests('chats')->[-1];
is_deeply([map { "$_->{role}:$_->{content}" } @{ $rec->{json}{messages} }],
          ['user:first question', 'assistant:' . message_text($r1),
           'user:and then?'],
          'previous_response_id: its input and output, then the new input; '
          . 'not its instructions');

# a chain: the third sees all of it
$res = responses(previous_response_id => $r2->{id}, input => 'third');
my $r3 = $res->json;
$rec = $t->mock_requests('chats')->[-1];
is(scalar @{ $rec->{json}{messages} }, 5, 'a chain: five messages');

# input_items: newest first, in pages
$res = $t->get("/v1/responses/$r3->{id}/input_items");
is($res->code, 200, 'input_items: 200');
my $l = $res->json;
is($l->{object}, 'list', 'input_items: a list');
is_deeply([map { $_->{type} } @{ $l->{data} }],
          [qw(message message message message message)],
          'input_items: the five items');
is($l->{data}[0]{content}[0]{text}, 'third', 'input_items: newest first');
is($l->{data}[-1]{content}[0]{text}, 'first question',
   'input_items: the first last');
is($l->{data}[3]{role}, 'assistant', 'input_items: the earlier answers');
is($l->{data}[3]{id}, $r1->{output}[0]{id},
   'input_items: an output item keeps its id');
is($l->{first_id}, $l->{data}[0]{id}, 'input_items: first_id');
is($l->{last_id}, $l->{data}[-1]{id}, 'input_items: last_id');
is($l->{has_more}, false, 'input_items: has_more false');
ok(!(grep { !$_->{id} } @{ $l->{data} }), 'input_items: each has an id');

$res = $t->get("/v1/responses/$r3->{id}/input_items?order=asc&limit=2");
my $p1 = $res->json;
is_deeply([map { $_->{content}[0]{text} } @{ $p1->{data} }],
          ['first question', message_text($r1)], 'input_items: asc, 2');
is($p1->{has_more}, true, 'input_items: has_more');
$res = $t->get("/v1/responses/$r3->{id}/input_items?order=asc&limit=2"
               . "&after=$p1->{last_id}");
is_deeply([map { $_->{content}[0]{text} } @{ $res->json->{data} }],
          ['and then?', message_text($r2)], 'input_items: after');
ChatonTest::is_openai_error(
    $t->get("/v1/responses/$r3->{id}/input_items?limit=0"), 400,
    'input_items: limit=0 refused', param => 'limit');
ChatonTest::is_openai_error(
    $t->get("/v1/responses/$r3->{id}/input_items?order=up"), 400,
    'input_items: order=up refused', param => 'order');

# item_reference: a stored item, read in its place
$res = responses(previous_response_id => $r1->{id}, input => [
    { type => 'item_reference', id => $r1->{output}[0]{id} },
    { role => 'user', content => 'say it again' }]);
is($res->code, 200, 'item_reference: 200');
$rec = $t->mock_requests('chats')->[-1];
is($rec->{json}{messages}[2]{content}, message_text($r1),
   'item_reference: the item it names');

# a bare item_reference (the AI SDK's, to an earlier answer): the stored
# response its id names, without previous_response_id
$res = responses(input => [
    { role => 'user', content => [{ type => 'input_text',
                                     text => 'first question' }] },
    { type => 'item_reference', id => $r1->{output}[0]{id} },
    { role => 'user', content => [{ type => 'input_text',
                                     text => 'second' }] }]);
is($res->code, 200, 'bare item_reference: 200');
$rec = $t->mock_requests('chats')->[-1];
is_deeply([map { "$_->{role}:$_->{content}" } @{ $rec->{json}{messages} }],
          ['user:first question', 'assistant:' . message_text($r1),
           'user:second'],
          'bare item_reference: the stored answer in its place');
my $in1 = $t->get("/v1/responses/$r1->{id}/input_items")->json->{data}[0];
$res = responses(input => [{ type => 'item_reference', id => $in1->{id} }]);
$rec = $t->mock_requests('chats')->[-1];
is($rec->{json}{messages}[-1]{content}, 'first question',
   'bare item_reference: a stored input item, by the id it was given');
(my $gone = $r1->{output}[0]{id}) =~ s/_0$/_9/;
ChatonTest::is_openai_error(
    responses(input => [{ type => 'item_reference', id => $gone }]), 400,
    'bare item_reference: no such item', param => 'input[0].id',
    message => qr/^Item with id '\Q$gone\E' not found\.$/);
ChatonTest::is_openai_error(
    responses(input => [{ type => 'item_reference',
                          id => 'msg_00000000000000000000beef_0' }]), 400,
    'bare item_reference: no such response', param => 'input[0].id');

# the tool loop through the store: only the output is sent
$res = responses(tools => [$weather],
                 input => 'Weather? [[tool get_weather {"city":"Oslo"}]]');
$r = $res->json;
($call) = grep { $_->{type} eq 'function_call' } @{ $r->{output} };
$res = responses(tools => [$weather], previous_response_id => $r->{id},
                 input => [{ type => 'function_call_output',
                             call_id => $call->{call_id}, output => 'cold' }]);
is($res->code, 200, 'tools through the store: 200');
like(message_text($res->json), qr/The tool said: cold/,
     'tools through the store: the output answers the stored call');

# streamed: kept once complete
$s = responses_stream(input => 'a streamed one');
$a = assemble($s->{events});
is($a && $a->{response}{store}, true, 'stream: "store" true');
$res = $t->get('/v1/responses/' . ($a ? $a->{response}{id} : 'x'));
is($res->code, 200, 'stream: stored');
is(message_text($res->json), $a && $a->{items}[0]{_text},
   'stream: the stored response has its text');

# store: false keeps nothing
$r = responses(store => false)->json;
is($r->{store}, false, 'store false: "store" false');
ChatonTest::is_openai_error($t->get("/v1/responses/$r->{id}"), 404,
    'store false: GET 404', message => qr/^Response with id '\Q$r->{id}\E' not found\.$/);
ChatonTest::is_openai_error(
    responses(previous_response_id => $r->{id}), 400,
    'store false: not found to continue', param => 'previous_response_id',
    code => 'previous_response_not_found',
    message => qr/^Previous response with id '\Q$r->{id}\E' not found\.$/);

# DELETE
$res = $t->request(DELETE => "/v1/responses/$r2->{id}");
is($res->code, 200, 'DELETE: 200');
is_deeply($res->json, { id => $r2->{id}, object => 'response',
                        deleted => true }, 'DELETE: OpenAI\'s answer');
ChatonTest::is_openai_error($t->get("/v1/responses/$r2->{id}"), 404,
    'deleted: GET 404');
ChatonTest::is_openai_error($t->request(DELETE => "/v1/responses/$r2->{id}"),
    404, 'deleted: DELETE again 404');
ChatonTest::is_openai_error(
    responses(previous_response_id => $r2->{id}), 400,
    'deleted: previous_response_not_found',
    code => 'previous_response_not_found');
is($t->get("/v1/responses/$r3->{id}")->code, 200,
   'a later response that continued it stays whole');

# unknown ids, methods
ChatonTest::is_openai_error($t->get('/v1/responses/resp_nope'), 404,
    'unknown id: 404', type => 'invalid_request_error');
ChatonTest::is_openai_error($t->get('/v1/responses/resp_nope/input_items'),
    404, 'unknown id: input_items 404');
ChatonTest::is_openai_error($t->post('/v1/responses/resp_nope', {}), 405,
    'POST /v1/responses/{id}: 405');

# the metrics count the route as its own
$res = $t->get('/metrics');
like($res->body, qr/^chaton_requests_total\{route="responses",model="gpt-4o",status="2xx"\} [1-9]/m,
     'metrics: route="responses"');

# ---- CORS

$res = $t->request(OPTIONS => '/v1/responses', undef,
    Origin => 'https://app.example', 'Access-Control-Request-Method' => 'POST');
is($res->code, 204, 'preflight: 204');
is(responses(_headers => { Origin => 'https://app.example' })
       ->headers->header('Access-Control-Allow-Origin'), '*',
   'an answer carries CORS');

# ---- log variables

my $log = $t->slurp('logs/resp.log');
like($log, qr{^gpt-4o\|gpt-4o\|0\|200\|200\|/v1/responses$}m,
     'log: model, backend model, whole, backend status');
like($log, qr{^gpt-4o\|gpt-4o\|1\|200\|200\|/v1/responses$}m,
     'log: a stream');

$t->finish;

# ---- the store: by client key, expiry, eviction, reload, off

my $z = ChatonTest->new(no_start => 1,
    api => "chaton_client_keys chaton.clients;\n"
           . "chaton_responses_store zone=small:32k ttl=3s;",
    server => "location /open/ { chaton;\n"
              . "    chaton_responses_store zone=small:32k ttl=3s; }\n"
              . "location /off/ { chaton; chaton_responses_store off; }");
open $fh, '>', $z->dir . '/chaton.clients' or die $!;
print $fh "alice sk-alice-key-0123456789\nbob sk-bob-key-0123456789\n";
close $fh;
chmod 0600, $z->dir . '/chaton.clients';
$z->start_nginx;

my %A = (Authorization => 'Bearer sk-alice-key-0123456789');
my %B = (Authorization => 'Bearer sk-bob-key-0123456789');

sub zpost { my ($path, $h, %b) = @_; $b{model} //= $MODEL;
            $b{input} //= 'hi'; return $z->post($path, \%b, %$h) }

my $ra = zpost('/v1/responses', \%A, input => 'alice\'s secret')->json;
is($z->get("/v1/responses/$ra->{id}", undef, %A)->code, 200,
   'isolation: alice reads hers');
ChatonTest::is_openai_error($z->get("/v1/responses/$ra->{id}", undef, %B),
    404, 'isolation: bob does not');
ChatonTest::is_openai_error(
    $z->get("/v1/responses/$ra->{id}/input_items", undef, %B), 404,
    'isolation: nor its items');
ChatonTest::is_openai_error(
    zpost('/v1/responses', \%B, previous_response_id => $ra->{id}), 400,
    'isolation: bob cannot continue it', code => 'previous_response_not_found');
ChatonTest::is_openai_error(
    zpost('/v1/responses', \%B, input => [{ type => 'item_reference',
                                            id => $ra->{output}[0]{id} }]),
    400, 'isolation: nor refer to its items', param => 'input[0].id');
is(zpost('/v1/responses', \%A, input => [{ type => 'item_reference',
                                           id => $ra->{output}[0]{id} }])
   ->code, 200, 'isolation: alice refers to hers');
ChatonTest::is_openai_error(
    $z->request(DELETE => "/v1/responses/$ra->{id}", undef, %B), 404,
    'isolation: nor delete it');
is($z->get("/v1/responses/$ra->{id}", undef, %A)->code, 200,
   'isolation: still alice\'s');
ChatonTest::is_openai_error($z->get("/open/v1/responses/$ra->{id}"), 404,
    'isolation: not for a request without a key');
my $ro = zpost('/open/v1/responses', {})->json;
is($z->get("/open/v1/responses/$ro->{id}")->code, 200,
   'no key: its own are found');
ChatonTest::is_openai_error($z->get("/v1/responses/$ro->{id}", undef, %A),
    404, 'isolation: a keyless one is not alice\'s');
unlike($z->slurp('logs/error.log') . $z->slurp('logs/access.log'),
       qr/sk-alice-key/, 'no key in a log');

# off: nothing kept, "store" false
$r = zpost('/off/v1/responses', {})->json;
is($r->{store}, false, 'store off: "store" false');
ChatonTest::is_openai_error($z->get("/off/v1/responses/$r->{id}"), 404,
    'store off: GET 404');
ChatonTest::is_openai_error(
    zpost('/off/v1/responses', {}, previous_response_id => $ro->{id}), 400,
    'store off: nothing to continue', code => 'previous_response_not_found');
ChatonTest::is_openai_error(
    zpost('/off/v1/responses', {}, input => [{ type => 'item_reference',
                                               id => $ro->{output}[0]{id} }]),
    400, 'store off: nothing to refer to', param => 'input[0].id');

# a reload keeps the zone and its entries
$z->signal_nginx('HUP');
sleep 1;
is($z->get("/v1/responses/$ra->{id}", undef, %A)->code, 200,
   'reload: the entry kept');

# expiry: ttl 3s
sleep 3;
ChatonTest::is_openai_error($z->get("/v1/responses/$ra->{id}", undef, %A),
    404, 'expired: GET 404');
ChatonTest::is_openai_error(
    zpost('/v1/responses', \%A, previous_response_id => $ra->{id}), 400,
    'expired: previous_response_not_found',
    code => 'previous_response_not_found');

# eviction: a 32k zone holds a few entries of 3k; the oldest go first
# (short answers, at once: the ttl must not expire them meanwhile)
$z->mock_knob({ route => 'chats', text => 'ok', delay_ms => 0, times => 0 });
my @ids;
for my $n (1 .. 20) {
    push @ids, zpost('/v1/responses', \%A,
                     input => "entry $n " . ('x' x 3000))->json->{id};
}
is($z->get("/v1/responses/$ids[-1]", undef, %A)->code, 200,
   'eviction: the newest kept');
ChatonTest::is_openai_error($z->get("/v1/responses/$ids[0]", undef, %A),
    404, 'eviction: the oldest evicted');
my @kept = grep { $z->get("/v1/responses/$_", undef, %A)->code == 200 } @ids;
ok(@kept >= 2 && @kept < 20, scalar(@kept) . ' of 20 kept');
is_deeply(\@kept, [@ids[20 - @kept .. 19]], 'eviction: oldest first');

# one larger than half the zone is not kept, and evicts nothing
$r = zpost('/v1/responses', \%A, input => 'y' x 20000)->json;
is($r->{store}, true, 'too large: answered');
ChatonTest::is_openai_error($z->get("/v1/responses/$r->{id}", undef, %A),
    404, 'too large: not kept');
is($z->get("/v1/responses/$ids[-1]", undef, %A)->code, 200,
   'too large: nothing evicted for it');
like($z->slurp('logs/error.log'), qr/not stored: its \d+ bytes are more /,
     'too large: logged');

$z->finish;

# ---- client keys and limit_req

my $k = ChatonTest->new(no_start => 1,
    http => 'limit_req_zone $binary_remote_addr zone=resp:1m rate=1r/m;',
    api => "chaton_client_keys chaton.clients;\n"
           . "limit_req zone=resp burst=3 nodelay;\nlimit_req_status 429;");
open $fh, '>', $k->dir . '/chaton.clients' or die $!;
print $fh "alice sk-alice-key-0123456789\n";
close $fh;
chmod 0600, $k->dir . '/chaton.clients';
$k->start_nginx;

my $body = { model => $MODEL, input => 'hi' };
ChatonTest::is_openai_error($k->post('/v1/responses', $body), 401,
    'no key: 401', code => 'invalid_api_key');
is($k->post('/v1/responses', $body,
            Authorization => 'Bearer sk-alice-key-0123456789')->code, 200,
   'a client key: 200');

my $limited;
for (1 .. 5) {
    $res = $k->post('/v1/responses', $body,
                    Authorization => 'Bearer sk-alice-key-0123456789');
    $limited = $res, last if $res->code == 429;
}
ok($limited, 'limit_req: a 429 came');
ChatonTest::is_openai_error($limited, 429, 'limit_req: 429 in OpenAI\'s shape')
    if $limited;

$k->finish;

done_testing;
