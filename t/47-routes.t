#!/usr/bin/env perl
# Routes under the locations README promises: after the first "/v1/" of
# the URI, or after the location's prefix when there is none; the id of
# /models/{id} read by the same parser as the route.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;

use ChatonTest;

*err = \&ChatonTest::is_openai_error;

my $t = ChatonTest->new(
    server => join("\n",
        'location /openai/ {',
        '    chaton;',
        '}',
        'location /models/ {',
        '    chaton;',
        '}',
        'location /api/ai/v1/ {',
        '    chaton;',
        '}',
        'location /bare {',
        '    chaton;',
        '}'));

# a list of models, or one model

sub is_list {
    my ($path) = @_;
    my $res = $t->get($path);
    ok($res->code == 200 && ($res->json // {})->{object} eq 'list'
       && (grep { $_->{id} eq 'gpt-4o' } @{ $res->json->{data} }),
       "GET $path: the model list")
        or diag($res->code . ' ' . substr($res->body, 0, 200));
}

sub is_model {
    my ($path, $id) = @_;
    my $res = $t->get($path);
    ok($res->code == 200 && ($res->json // {})->{object} eq 'model'
       && $res->json->{id} eq $id, "GET $path: the model $id")
        or diag($res->code . ' ' . substr($res->body, 0, 200));
}

sub is_chat {
    my ($path) = @_;
    my $res = $t->post($path, { model => 'gpt-4o',
                                messages => [{ role => 'user', content => 'hi' }] });
    ok($res->code == 200 && $res->json->{object} eq 'chat.completion',
       "POST $path: a chat")
        or diag($res->code . ' ' . substr($res->body, 0, 200));
}

$t->mock_knob({ route => 'chats', times => 0, text => 'ok', split => 'none' });

# location /v1/ (the template's)

is_list('/v1/models');
is_list('/v1/models/');
is_model('/v1/models/gpt-4o', 'gpt-4o');
is_chat('/v1/chat/completions');

# location /openai/: routes after the prefix

is_list('/openai/models');
is_model('/openai/models/claude-3-5-sonnet-latest', 'claude-3-5-sonnet-latest');
is_chat('/openai/chat/completions');
is_list('/openai/v1/models');
err($t->get('/openai/embeddings'), 404, 'GET /openai/embeddings: 404',
    code => 'unknown_url', type => 'invalid_request_error');

# location /models/: "/v1/" first, so "v1/models" is no model id

is_list('/models/v1/models');
is_model('/models/v1/models/o3-mini', 'o3-mini');
is_list('/models/models');
is_model('/models/models/gpt-4o-mini', 'gpt-4o-mini');
err($t->get('/models/v1/models/v1'), 404, 'GET /models/v1/models/v1: 404',
    code => 'model_not_found');

# a deeper prefix with /v1/ in it

is_list('/api/ai/v1/models');
is_chat('/api/ai/v1/chat/completions');

# a prefix without a trailing slash: at a segment's boundary

is_list('/bare/models');
is_chat('/bare/chat/completions');
err($t->get('/baremodels'), 404, 'GET /baremodels: 404', code => 'unknown_url');

$t->finish;

done_testing;
