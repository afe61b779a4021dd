#!/usr/bin/env perl
# The directives: credentials files, model aliases, CORS origins, the
# backend location's name, and refusals of bad configuration.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);

use ChatonTest;

# binary keys given as base64, aliases, a listed CORS origin, another
# backend location, a credentials file with comments and a name

my $key_a = "bin\x00ary\xffA";
my $key_b = "\x01\x02secret\x00B\xfe";

my $t = ChatonTest->new(
    mock_key_a => 'base64:' . encode_base64($key_a, ''),
    mock_key_b => 'base64:' . encode_base64($key_b, ''),
    credentials => "# ChatOn credentials\n"
        . "name = main\n"
        . "key_a = base64:" . encode_base64($key_a, '') . "\n"
        . "key_b   =   base64:" . encode_base64($key_b, '') . "  \r\n"
        . "\n"
        . "user_agent = $ChatonTest::DEMO_UA\n",
    server => "chaton_model gpt-3.5-turbo gpt-4o-mini;\n"
        . "chaton_model secret-model claude hidden;\n"
        . "chaton_cors_origins https://chat.example.com https://b.example;\n"
        . "chaton_max_tokens 1234;\n"
        . "chaton_backend /other-backend/;\n"
        . "location /other-backend/ {\n"
        . "    internal;\n"
        . "    proxy_pass http://chaton_api/;\n"
        . "    include $ChatonTest::ROOT/conf.d/chaton-backend.conf;\n"
        . "}");

my $res = $t->chat(model => 'gpt-3.5-turbo');
is($res->code, 200, 'binary keys: signed correctly');
my $rec = $t->mock_requests('chats')->[-1];
ok($rec->{sig_ok}, 'binary keys: the mock verified the signature');
is($rec->{json}{model}, 'gpt-4o-mini', 'chaton_model: alias');
is($rec->{json}{max_tokens}, 1234, 'chaton_max_tokens');
is($res->json->{model}, 'gpt-3.5-turbo', 'alias: answered as asked');

is($t->chat(model => 'secret-model')->code, 200, 'hidden alias works');
my %ids = map { $_->{id} => 1 } @{ $t->get('/v1/models')->json->{data} };
ok($ids{'gpt-3.5-turbo'}, 'alias listed');
ok(!$ids{'secret-model'}, 'hidden alias not listed');
ok($ids{'gpt-4o'}, 'built-ins still listed');

$res = $t->request(GET => '/v1/models', undef, Origin => 'https://b.example');
is($res->headers->header('Access-Control-Allow-Origin'), 'https://b.example',
   'cors: a listed origin is echoed');
like($res->headers->vary // '', qr/Origin/, 'cors: Vary: Origin');
$res = $t->request(GET => '/v1/models', undef, Origin => 'https://evil.example');
ok(!defined $res->headers->header('Access-Control-Allow-Origin'),
   'cors: another origin is not allowed');

$t->finish;

# cors off

$t = ChatonTest->new(server => 'chaton_cors_origins off;');
$res = $t->request(GET => '/v1/models', undef, Origin => 'https://a.example');
ok(!defined $res->headers->header('Access-Control-Allow-Origin'),
   'cors off: no header');
$t->finish;

# the switches' defaults, per location; the client's value still wins

$t = ChatonTest->new(api => "chaton_function_web_search on;\n"
                          . "chaton_function_image_gen on;\n"
                          . "chaton_function_code_interpreter on;");
$t->mock_knob({ route => 'chats', times => 0, text => 'ok', split => 'none' });

sub switches {
    my $rec = $t->mock_requests('chats')->[-1]{json};
    return join ' ', map { $rec->{"function_$_"} ? 1 : 0 }
                     qw(web_search image_gen code_interpreter);
}

is($t->chat->code, 200, 'switches on: 200');
is(switches(), '1 1 1', 'switches on: sent true when the client says nothing');
$t->chat(function_web_search => Mojo::JSON::false,
         function_code_interpreter => Mojo::JSON::false);
is(switches(), '0 1 0', 'switches on: the client\'s false wins');
$t->finish;

$t = ChatonTest->new(api => 'chaton_function_image_gen on;');
$t->mock_knob({ route => 'chats', times => 0, text => 'ok', split => 'none' });
$t->chat;
is(switches(), '0 1 0', 'one switch on, the others off by default');
$t->chat(function_web_search => Mojo::JSON::true,
         function_image_gen => Mojo::JSON::false);
is(switches(), '1 0 0', 'and the client\'s values win');
$t->finish;

# configurations nginx must refuse

sub refused {
    my ($name, $re, %o) = @_;
    my $c = ChatonTest->new(no_start => 1, no_mock => 1, %o);
    my ($rc, $out) = $c->conf_test;
    ok($rc != 0 && $out =~ $re, "refused: $name") or diag($out);
}

refused('credentials without key_b', qr/must set key_a, key_b and user_agent/,
        credentials => "key_a = a\nuser_agent = x\n");
refused('credentials with an unknown name', qr/unknown name "password"/,
        credentials => "key_a = a\nkey_b = b\nuser_agent = x\npassword = y\n");
refused('credentials with bad base64', qr/invalid "key_b" in line 2/,
        credentials => "key_a = a\nkey_b = base64:!!!\nuser_agent = x\n");
refused('chaton without credentials', qr/needs "chaton_credentials"/,
        template => "$ChatonTest::ROOT/t/fixtures/no-credentials.conf");
refused('a bad time zone', qr/must be an offset/,
        api => 'chaton_time_zone EST;');
refused('a bad backend prefix', qr/must be a location prefix/,
        server => 'chaton_backend /x;');
refused('a bad model flag', qr/only "hidden"/,
        server => 'chaton_model a b c;');
refused('a default model not in the table', qr/"gpt-9" is not a model id here/,
        api => 'chaton_default_model gpt-9;');
refused('a window for a model no id means', qr/no model id means the ChatOn model "gpt-9"/,
        server => 'chaton_context_window gpt-9 1000;');
refused('a window that is no number', qr/takes a number of tokens or "off"/,
        server => 'chaton_context_window gpt-4o lots;');
refused('a switch that is not on or off', qr/invalid value "yes"/,
        api => 'chaton_function_web_search yes;');

# a default model that is an operator's name, and a window for its model
my $c0 = ChatonTest->new(no_start => 1, no_mock => 1,
                         server => "chaton_model my-model o4-mini hidden;\n"
                                 . "chaton_context_window o4-mini 50000;",
                         api => 'chaton_default_model My-Model;');
my ($rc0, $out0) = $c0->conf_test;
is($rc0, 0, 'a default model of the operator\'s names is accepted') or diag($out0);

my $c = ChatonTest->new(no_start => 1, no_mock => 1);
$c->write_conf;
chmod 0644, $c->dir . '/credentials';
my $out = `"$ChatonTest::NGINX" -t -p "@{[ $c->dir ]}" -c "@{[ $c->dir ]}/nginx.conf" 2>&1`;
like($out, qr/readable by others; chmod 0600/, 'warns of a readable credentials file');
unlike($out, qr/demo-key-b/, 'the warning does not print the key');

done_testing;
