#!/usr/bin/env perl
# Several kinds of backend under one host, routed by model: ChatOn's models
# through the translator, every other model passed unchanged to another
# OpenAI-compatible server (scripts/mock-openai here), /v1/models the union.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::UserAgent;

use ChatonTest;

# the other server

my $pid = open(my $out, '-|', "$ChatonTest::ROOT/scripts/mock-openai")
    // die "mock-openai: $!";
my ($other) = <$out> =~ m{listening on (http://\S+)};
END { kill 'TERM', $pid if $pid }
ok($other, "the other server: $other");

my $t = ChatonTest->new(
    server => "location /openai-upstream/ {\n"
              . "    internal;\n"
              . "    proxy_pass $other/v1/;\n"
              . "    include $ChatonTest::ROOT/conf.d/chaton-passthrough.conf;\n"
              . "    proxy_set_header Authorization \"Bearer operator-key\";\n"
              . "}",
    api => "chaton_passthrough /openai-upstream/;\n"
         . 'chaton_default_model gpt-4o-mini;');

my $ua = Mojo::UserAgent->new;

sub other_requests { $ua->get("$other/__mock/requests")->result->json }

*err = \&ChatonTest::is_openai_error;

# a model of the other server's: passed through, whole

my $body = '{"model":"llama-3-8b","messages":[{"role":"user","content":"hi there"}],'
           . '"temperature":0.3,"tools":[{"type":"function"}]}';
my $res = $t->post('/v1/chat/completions', $body,
                   Authorization => 'Bearer sk-client');
my $direct = $ua->post("$other/v1/chat/completions" => $body)->result;
is($res->code, 200, 'other model: 200');
is($res->body, $direct->body, 'other model: the other server\'s answer, unchanged');
my $got = (grep { $_->{path} eq '/v1/chat/completions' } @{ other_requests() })[0];
is($got->{body}, $body, 'the other server got the body byte for byte');
is($got->{headers}{authorization}, 'Bearer operator-key',
   'with the operator\'s key, not the client\'s');
is(scalar @{ $t->mock_requests('chats') }, 0, 'ChatOn was not asked');

# a long body (past the request's header buffer and nginx's body buffer):
# passed on whole, the module gives a body's memory back only after a
# conversation of its own has parsed it

my $long = '{"model":"llama-3-8b","messages":[{"role":"user","content":"'
           . ('long words ' x 2000) . '"}]}';
my $n0 = scalar @{ other_requests() };
$res = $t->post('/v1/chat/completions', $long);
is($res->code, 200, 'other model, a long body: 200');
my $all = other_requests();
$got = (grep { $_->{path} eq '/v1/chat/completions' }
        @$all[$n0 .. $#$all])[0];
ok($got && $got->{body} eq $long,
   'other model, a long body: the other server got it byte for byte')
    or diag(length($got->{body} // ''));

# streamed, through untouched

my $sbody = '{"model":"qwen-2.5-7b","stream":true,"messages":[{"role":"user","content":"a b c"}]}';
my $s = $t->stream('/v1/chat/completions', $sbody);
$direct = $ua->post("$other/v1/chat/completions" => $sbody)->result;
is($s->{status}, 200, 'other model, streamed: 200');
like($s->{res}->headers->content_type, qr{text/event-stream},
     'other model, streamed: an event stream');
is($s->{body}, $direct->body, 'other model, streamed: byte-exact');
ok(@{ $s->{chunks} } > 2, 'other model, streamed: in pieces');

# ChatOn's models still go to ChatOn

$res = $t->chat(model => 'gpt-4o');
is($res->code, 200, 'gpt-4o: 200');
like($res->json->{choices}[0]{message}{content}, qr/You said: hello/,
     'gpt-4o: answered by ChatOn');

# the passthrough wins over chaton_default_model for unknown models (nginx
# warns that the default is not used there)

like($t->slurp('logs/stderr.log') . $t->error_log,
     qr/"chaton_default_model" is not used where "chaton_passthrough" is set/,
     'a default model beside a passthrough: nginx warns');

# a model neither serves: the other server's own 404, relayed

$res = $t->chat(model => 'no-such-model');
is($res->code, 404, 'unknown to both: 404');
is($res->json->{error}{code}, 'model_not_found', 'unknown to both: its error');

# the models of both

$res = $t->get('/v1/models');
my %ids = map { $_->{id} => $_ } @{ $res->json->{data} };
ok($ids{'gpt-4o'} && $ids{'claude-3.5-sonnet'}, '/v1/models: ChatOn\'s');
ok($ids{'llama-3-8b'} && $ids{'qwen-2.5-7b'}, '/v1/models: the other\'s');
is($ids{'llama-3-8b'}{owned_by}, 'local', '/v1/models: its entries as it gave them');
is($t->get('/v1/models/qwen-2.5-7b')->json->{owned_by}, 'local',
   '/v1/models/{id}: the other\'s model, from it');
is($t->get('/v1/models/gpt-4o')->json->{owned_by}, 'chaton',
   '/v1/models/{id}: ChatOn\'s, from the table');

# the other server down

kill 'TERM', $pid;
waitpid $pid, 0;
undef $pid;

$res = $t->get('/v1/models');
is($res->code, 200, 'other down: /v1/models answers');
%ids = map { $_->{id} => 1 } @{ $res->json->{data} };
ok($ids{'gpt-4o'} && !$ids{'llama-3-8b'}, 'other down: ChatOn\'s models');
err($t->chat(model => 'llama-3-8b'), 502, 'other down: 502');
is($t->chat(model => 'gpt-4o')->code, 200, 'other down: ChatOn still answers');

$t->finish;

done_testing;
