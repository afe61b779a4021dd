#!/usr/bin/env perl
# POST /v1/chat/completions, whole and streamed: what the client gets, and
# what the backend (the mock) was sent.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(decode_json encode_json true false);
use Encode qw(encode_utf8);

use ChatonTest;

my $t = ChatonTest->new;

# the seed's example, whole

my $res = $t->post('/v1/chat/completions',
    '{"stream":false,"messages":[{"role":"user","content":"hello"}],"model":"gpt-4o"}',
    'Authorization' => 'Bearer sk-client-secret-123',
    'Cookie' => 'session=abc',
    'Accept-Encoding' => 'gzip');

is($res->code, 200, 'whole: 200');
like($res->headers->content_type, qr{^application/json}, 'whole: JSON');

my $j = $res->json;
my $recs = $t->mock_wait('chats', 1);
my $rec = $recs->[-1];

is($j->{object}, 'chat.completion', 'whole: object');
like($j->{id}, qr/^chatcmpl-[0-9a-f]{24}$/, 'whole: id');
is($j->{model}, 'gpt-4o', 'whole: the model asked for, not the backend\'s');
isnt($rec->{sent}{model}, 'gpt-4o', 'the mock did send a versioned model name');
is($j->{choices}[0]{message}{role}, 'assistant', 'whole: role');
is($j->{choices}[0]{message}{content}, $rec->{sent}{content},
   'whole: content equals what the backend sent, byte for byte');
like($j->{choices}[0]{message}{content}, qr/You said: hello\./,
     'whole: the answer is about the message');
ok(!exists $j->{choices}[0]{message}{reasoning_content},
   'whole: no reasoning_content without reasoning');
is($j->{choices}[0]{finish_reason}, 'stop', 'whole: finish_reason');
ok($j->{usage}{prompt_tokens} > 0 && $j->{usage}{completion_tokens} > 0
   && $j->{usage}{total_tokens}
      == $j->{usage}{prompt_tokens} + $j->{usage}{completion_tokens},
   'whole: usage estimated and consistent');

# what the backend received

is($rec->{method}, 'POST', 'backend: POST');
is($rec->{path}, '/chats/stream', 'backend: path');
ok($rec->{sig_ok}, 'backend: signature valid');
is($rec->{status}, 200, 'backend: accepted');
is_deeply($rec->{json}, {
    model => 'gpt-4o',
    messages => [{ role => 'user', content => 'hello' }],
    max_tokens => 8000,
    source => 'chat/free',
    function_web_search => false,
    function_image_gen => false,
    function_code_interpreter => false,
    web_search_engine => 'auto',
}, 'backend: the translated body');

my $h = $rec->{headers};
like($h->{authorization}, qr/^Bearer \S+\.\S+$/, 'backend: signed Authorization');
unlike($h->{authorization}, qr/sk-client/, 'backend: not the client\'s key');
ok(!exists $h->{cookie}, 'backend: no client cookie');
ok(!exists $h->{'accept-encoding'}, 'backend: no Accept-Encoding');
is($h->{'x-cl-options'}, 'hb', 'backend: X-Cl-Options');
is($h->{'client-time-zone'}, '-04:00', 'backend: time zone as configured');
is($h->{'accept-language'}, 'en-US', 'backend: Accept-Language');
is($h->{'content-type'}, 'application/json; charset=UTF-8',
   'backend: Content-Type');
is($h->{'user-agent'}, $ChatonTest::DEMO_UA, 'backend: User-Agent');
like($h->{date}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'backend: Date');

# the seed's example, streamed

my $s = $t->chat_stream(_opts => {
    headers => { Authorization => 'Bearer sk-client-secret-123' } });
$rec = $t->mock_wait('chats', 2)->[-1];

is($s->{status}, 200, 'stream: 200');
like($s->{res}->headers->content_type, qr{^text/event-stream},
     'stream: event stream');
is($s->{res}->headers->cache_control, 'no-cache', 'stream: no-cache');
is($s->{res}->headers->header('X-Accel-Buffering'), 'no',
   'stream: X-Accel-Buffering');

my @ev = @{ $s->{events} };
my @chunks = grep { $_->{json} } @ev;
my %ids = map { $_->{json}{id} => 1 } @chunks;

ok(@chunks > 5, 'stream: several chunks');
is(scalar keys %ids, 1, 'stream: one id for the whole stream');
ok(!(grep { $_->{json}{object} ne 'chat.completion.chunk' } @chunks),
   'stream: every chunk is a chat.completion.chunk');
ok(!(grep { $_->{json}{model} ne 'gpt-4o' } @chunks),
   'stream: every chunk names the model asked for');
is($chunks[0]{json}{choices}[0]{delta}{role}, 'assistant',
   'stream: the first chunk carries the role');
is(scalar(grep { defined $_->{json}{choices}[0]{delta}{role} } @chunks), 1,
   'stream: the role only once');
my @fin = grep { defined $_->{json}{choices}[0]{finish_reason} } @chunks;
is(scalar @fin, 1, 'stream: exactly one finish_reason');
is($fin[0]{json}{choices}[0]{finish_reason}, 'stop', 'stream: stop');
is($fin[0], $chunks[-1], 'stream: finish_reason in the last chunk');
is($ev[-1]{data}, '[DONE]', 'stream: ends with [DONE]');
is(ChatonTest::stream_text(\@ev), $rec->{sent}{content},
   'stream: every delta once, in order, byte-exact');
ok(!(grep { exists $_->{json}{usage} } @chunks),
   'stream: no usage without include_usage');
unlike($rec->{headers}{authorization}, qr/sk-client/,
       'stream backend: not the client\'s key');

# include_usage

$s = $t->chat_stream(stream_options => { include_usage => true });
@chunks = grep { $_->{json} } @{ $s->{events} };
my $u = $chunks[-1]{json};
is_deeply($u->{choices}, [], 'usage chunk: empty choices');
ok($u->{usage} && $u->{usage}{total_tokens} > 0, 'usage chunk: usage');
ok(!(grep { !exists $_->{json}{usage} } @chunks),
   'usage: every chunk has a usage field');
is($s->{events}[-1]{data}, '[DONE]', 'usage: then [DONE]');

# tokens arrive as they are made: the first chunk reaches the client
# while the backend is still sending

$t->mock_knob({ route => 'chats', event_interval_ms => 150,
                split => 'event', text => 'one two three four five six' });
$s = $t->chat_stream;
$rec = $t->mock_wait('chats', 4)->[-1];
my @content = grep { $_->{data} =~ /"content":"/ } map { $_ } @{ $s->{chunks} };
ok(@{ $s->{chunks} } >= 4, 'timing: the stream came in several pieces');
my $first = (grep { $_->{data} =~ /"content"/ } @{ $s->{chunks} })[0];
my $total = $s->{chunks}[-1]{t};
ok($first && $first->{t} < $total - 0.4,
   sprintf('timing: first content at %.2fs, end at %.2fs', $first->{t}, $total));
is(ChatonTest::stream_text($s->{events}), 'one two three four five six',
   'timing: text intact');

# reasoning models

$res = $t->chat(model => 'deepseek-r1');
$rec = $t->mock_wait('chats', 5)->[-1];
$j = $res->json;
is($j->{choices}[0]{message}{reasoning_content}, $rec->{sent}{reasoning},
   'reasoning (whole): reasoning_content');
is($j->{choices}[0]{message}{content}, $rec->{sent}{content},
   'reasoning (whole): content');
is($j->{model}, 'deepseek-r1', 'reasoning: model');

$s = $t->chat_stream(model => 'deepseek-r1');
$rec = $t->mock_wait('chats', 6)->[-1];
is(ChatonTest::stream_text($s->{events}, 'reasoning_content'),
   $rec->{sent}{reasoning}, 'reasoning (stream): reasoning_content deltas');
is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content},
   'reasoning (stream): content deltas');
my ($r1) = grep { $_->{json} && defined $_->{json}{choices}[0]{delta}{reasoning_content} }
    @{ $s->{events} };
ok($r1 && !defined $r1->{json}{choices}[0]{delta}{content},
   'reasoning (stream): content is null in reasoning chunks');

# web search: sources become readable content

$res = $t->chat(function_web_search => true);
$rec = $t->mock_wait('chats', 7)->[-1];
is($rec->{json}{function_web_search}, true, 'web search: passed through');
my $c = $res->json->{choices}[0]{message}{content};
like($c, qr/Sources:/, 'web search: sources listed');
for my $src (@{ $rec->{sent}{web_sources} }) {
    ok(index($c, $src->{url}) >= 0, "web search: $src->{url}");
}
like($c, qr/\[Example Domain\]\(https:\/\/example\.com\/\)/,
     'web search: markdown link');
like($c, qr/You said: hello/, 'web search: and the answer');

# the request translation

$res = $t->chat(
    model => 'Claude-3.5-Sonnet',
    max_completion_tokens => 321,
    max_tokens => 100,
    function_image_gen => true,
    function_code_interpreter => true,
    temperature => 0.5,
    messages => [
        { role => 'developer', content => 'be brief' },
        { role => 'user', content => [
            { type => 'text', text => 'part one' },
            { type => 'text', text => 'part two' } ] },
        { role => 'assistant', content => '   ', },
        { role => 'assistant', content => 'earlier answer',
          reasoning_content => 'hidden thoughts', name => 'bot',
          refusal => undef },
        { role => 'user', content => "  keep  my spacing \n" },
    ]);
$rec = $t->mock_wait('chats', 8)->[-1];
is($res->code, 200, 'translation: 200');
is($res->json->{model}, 'Claude-3.5-Sonnet', 'translation: model as asked');
is_deeply($rec->{json}{messages}, [
    { role => 'system', content => 'be brief' },
    { role => 'user', content => 'part one part two' },
    { role => 'assistant', content => 'earlier answer' },
    { role => 'user', content => "  keep  my spacing \n" },
], 'translation: parts flattened, blank dropped, extra fields gone, '
   . 'content untrimmed');
is($rec->{json}{model}, 'claude-3-5-sonnet', 'translation: alias mapped');
is($rec->{json}{max_tokens}, 321, 'translation: max_completion_tokens');
is($rec->{json}{function_image_gen}, true, 'translation: image_gen');
is($rec->{json}{function_code_interpreter}, true,
   'translation: code_interpreter');

for my $alias (['claude-3-haiku', 'claude'], ['gpt 4o', 'gpt-4o'],
               ['claude-3.7-sonnet', 'claude-3-7-sonnet'])
{
    $res = $t->chat(model => $alias->[0]);
    my $n = @{ $t->mock_requests('chats') };
    $rec = $t->mock_wait('chats', $n)->[-1];
    is($rec->{json}{model}, $alias->[1], "alias $alias->[0]");
}

# http image URLs go through as they are

$res = $t->chat(messages => [{ role => 'user', content => [
    { type => 'text', text => 'what is this' },
    { type => 'image_url', image_url => { url => 'https://example.com/a.png' } },
    { type => 'image_url', image_url => 'http://example.com/b.jpg?x=1' } ] }]);
$rec = $t->mock_requests('chats')->[-1];
is($res->code, 200, 'image urls: 200');
is_deeply($rec->{json}{messages}[0]{images},
          [{ data => 'https://example.com/a.png' },
           { data => 'http://example.com/b.jpg?x=1' }],
          'image urls: unchanged, in order');
is($rec->{json}{source}, 'chat/image_upload', 'image urls: source');

# two requests on one keepalive connection

my $ua = Mojo::UserAgent->new;
my $tx1 = $ua->post($t->url('/v1/chat/completions') => json =>
                    { model => 'gpt-4o', messages => [{ role => 'user', content => 'a' }] });
my $tx2 = $ua->post($t->url('/v1/chat/completions') => json =>
                    { model => 'gpt-4o', stream => true,
                      messages => [{ role => 'user', content => 'b' }] });
is($tx1->res->code, 200, 'keepalive: first');
is($tx2->res->code, 200, 'keepalive: second');
is($tx1->connection, $tx2->connection, 'keepalive: same connection');
like($tx2->res->body, qr/data: \[DONE\]\n\n\z/, 'keepalive: second streamed');

# models

$res = $t->get('/v1/models');
is($res->code, 200, 'models: 200');
my %ids2 = map { $_->{id} => $_ } @{ $res->json->{data} };
is($res->json->{object}, 'list', 'models: a list');
ok($ids2{'gpt-4o'} && $ids2{'deepseek-r1'} && $ids2{'claude-3.5-sonnet'},
   'models: backend ids and aliases');
is($ids2{'gpt-4o'}{object}, 'model', 'models: model objects');
ok(!$ids2{'gpt 4o'}, 'models: unlisted aliases hidden');
$res = $t->get('/v1/models/claude-3.5-sonnet');
is($res->json->{id}, 'claude-3.5-sonnet', 'models: one model');
ChatonTest::is_openai_error($t->get('/v1/models/nope'), 404,
                            'models: unknown', code => 'model_not_found');

# CORS

$res = $t->request(OPTIONS => '/v1/chat/completions', undef,
    Origin => 'https://app.nextchat.dev',
    'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers' => 'authorization, content-type, x-stainless-os');
is($res->code, 204, 'preflight: 204');
is($res->headers->header('Access-Control-Allow-Origin'), '*',
   'preflight: origin');
like($res->headers->header('Access-Control-Allow-Methods'), qr/POST/,
     'preflight: methods');
is($res->headers->header('Access-Control-Allow-Headers'),
   'authorization, content-type, x-stainless-os', 'preflight: headers');
$res = $t->chat;
is($res->headers->header('Access-Control-Allow-Origin'), '*',
   'cors: on answers');
$s = $t->chat_stream;
is($s->{res}->headers->header('Access-Control-Allow-Origin'), '*',
   'cors: on streams');

$t->finish;

done_testing;
