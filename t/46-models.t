#!/usr/bin/env perl
# The model names clients send: OpenAI's and Anthropic's dated and -latest
# names, ChatOn's later models (o3-mini, o4-mini), the release dates
# /v1/models lists, the context windows and the default model for
# unknown names.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

*err = \&ChatonTest::is_openai_error;

my $t = ChatonTest->new;

# the last chat the backend got
sub last_chat {
    my ($t) = @_;
    my $n = @{ $t->mock_requests('chats') };
    return $t->mock_wait('chats', $n)->[-1];
}

# every name NextChat offers for a model ChatOn serves

my %names = (
    'gpt-4o-2024-05-13'          => 'gpt-4o',
    'gpt-4o-2024-08-06'          => 'gpt-4o',
    'gpt-4o-2024-11-20'          => 'gpt-4o',
    'chatgpt-4o-latest'          => 'gpt-4o',
    'gpt-4o-mini-2024-07-18'     => 'gpt-4o-mini',
    'o3-mini'                    => 'o3-mini',
    'o3-mini-2025-01-31'         => 'o3-mini',
    'o4-mini'                    => 'o4-mini',
    'o4-mini-2025-04-16'         => 'o4-mini',
    'claude-3-5-sonnet-20240620' => 'claude-3-5-sonnet',
    'claude-3-5-sonnet-20241022' => 'claude-3-5-sonnet',
    'claude-3-5-sonnet-latest'   => 'claude-3-5-sonnet',
    'claude-3-7-sonnet-20250219' => 'claude-3-7-sonnet',
    'claude-3-7-sonnet-latest'   => 'claude-3-7-sonnet',
    'claude-3-haiku-20240307'    => 'claude',
);

$t->mock_knob({ route => 'chats', times => scalar keys %names, text => 'ok',
                split => 'none' });

for my $name (sort keys %names) {
    my $res = $t->chat(model => $name);
    my $rec = last_chat($t);
    is($res->code, 200, "$name: 200");
    is($res->json->{model}, $name, "$name: answered as asked");
    is($rec->{json}{model}, $names{$name}, "$name: ChatOn is sent $names{$name}");
}

# o3-mini and o4-mini reason, as deepseek-r1 does: streamed reasoning

for my $m (qw(o3-mini o4-mini-2025-04-16)) {
    my $s = $t->chat_stream(model => $m);
    my $rec = last_chat($t);
    ok(length $rec->{sent}{reasoning}, "$m: the backend reasoned");
    is(ChatonTest::stream_text($s->{events}, 'reasoning_content'),
       $rec->{sent}{reasoning}, "$m: reasoning_content deltas");
    is(ChatonTest::stream_text($s->{events}), $rec->{sent}{content},
       "$m: content deltas");
}

# /v1/models: real release dates

my $res = $t->get('/v1/models');
my %m = map { $_->{id} => $_ } @{ $res->json->{data} };
ok(!(grep { !$_->{created} } values %m), '/v1/models: no created 0');
is($m{'gpt-4o'}{created}, 1715558400, '/v1/models: gpt-4o, 2024-05-13');
is($m{'o3-mini'}{created}, 1738281600, '/v1/models: o3-mini, 2025-01-31');
is($m{'claude-3-7-sonnet'}{created}, 1739923200,
   '/v1/models: claude-3-7-sonnet, 2025-02-19');
ok($m{'o4-mini'}, '/v1/models: o4-mini listed');
ok(!$m{'gpt-4o-2024-08-06'}, '/v1/models: dated names are not listed');
is($t->get('/v1/models/gpt-4o-2024-11-20')->json->{created}, 1732060800,
   '/v1/models/{id}: a dated name, its own date');

# unknown models: the honest 404, OpenAI's type

err($t->chat(model => 'gpt-4-turbo'), 404, 'unknown model: 404',
    param => 'model', code => 'model_not_found',
    type => 'invalid_request_error');
err($t->get('/v1/models/gpt-4-turbo'), 404, 'unknown model id: 404',
    code => 'model_not_found', type => 'invalid_request_error');

# the context window: an 8 MiB message is refused, not sent

my $n = @{ $t->mock_requests('chats') };
err($t->chat(messages => [{ role => 'user', content => 'x' x (8 << 20) }]),
    400, '8 MiB message: 400', param => 'messages',
    code => 'context_length_exceeded', type => 'invalid_request_error',
    message => qr/maximum context length is 128000 tokens/);
is(scalar @{ $t->mock_requests('chats') }, $n, '8 MiB message: not sent');

# a long message that fits goes through (300 KiB: ~77,000 tokens; the
# mock answers briefly rather than quoting it)

$t->mock_knob({ route => 'chats', times => 1, text => 'ok', split => 'none' });
$res = $t->chat(messages => [{ role => 'user', content => 'y' x (300 << 10) }]);
is($res->code, 200, '300 KiB message: 200');
is(length last_chat($t)->{json}{messages}[0]{content}, 300 << 10,
   '300 KiB message: sent whole');

$t->finish;

# chaton_default_model: unknown names served by it, answered as asked;
# the access log shows the model that served

$t = ChatonTest->new(
    http => 'log_format models "$chaton_model $chaton_backend_model $status";',
    server => 'access_log logs/models.log models;',
    api => "chaton_default_model gpt-4o-mini;\n"
         . 'chaton_context_window gpt-4o 1000;');

$res = $t->chat(model => 'gpt-4-turbo');
my $rec = last_chat($t);
is($res->code, 200, 'default model: 200 for an unknown model');
is($res->json->{model}, 'gpt-4-turbo', 'default model: answered as asked');
is($rec->{json}{model}, 'gpt-4o-mini', 'default model: served by it');

my $s = $t->chat_stream(model => 'gpt-3.5-turbo');
my @chunks = grep { $_->{json} } @{ $s->{events} };
ok(@chunks && !(grep { $_->{json}{model} ne 'gpt-3.5-turbo' } @chunks),
   'default model, streamed: every chunk names the model asked for');
is(last_chat($t)->{json}{model}, 'gpt-4o-mini', 'default model, streamed: served by it');

$res = $t->chat(model => 'claude-3-haiku');
is(last_chat($t)->{json}{model}, 'claude', 'default model: known models are themselves');

err($t->get('/v1/models/gpt-4-turbo'), 404,
    'default model: /v1/models/{id} still knows only the table',
    code => 'model_not_found');
err($t->chat(model => ''), 400, 'default model: an empty model is still a 400',
    param => 'model');

# the window set for gpt-4o: 1000 tokens (2000 estimated are let through)

my $long = 'z' x 12_000;
err($t->chat(model => 'gpt-4o-2024-08-06', messages => [{ role => 'user', content => $long }]),
    400, 'chaton_context_window: over it, 400', code => 'context_length_exceeded',
    message => qr/maximum context length is 1000 tokens/);
$t->mock_knob({ route => 'chats', times => 2, text => 'ok', split => 'none' });
is($t->chat(model => 'gpt-4o-mini', messages => [{ role => 'user', content => $long }])->code,
   200, 'chaton_context_window: other models keep theirs');
is($t->chat(model => 'gpt-4o', messages => [{ role => 'user', content => 'z' x 7_000 }])->code,
   200, 'chaton_context_window: under twice the window, sent');

$t->finish;

my @log = split /\n/, $t->slurp('logs/models.log');
ok((grep { $_ eq 'gpt-4-turbo gpt-4o-mini 200' } @log),
   'access log: asked gpt-4-turbo, served by gpt-4o-mini')
    or diag(join "\n", @log);

done_testing;
