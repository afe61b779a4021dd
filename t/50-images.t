#!/usr/bin/env perl
# POST /v1/images/generations: parallel drawings, storage look-ups,
# downloads for b64_json, retries, refusals and every validation error.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64);
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new;

*err = \&ChatonTest::is_openai_error;

sub images { $t->post('/v1/images/generations', @_) }

sub since {
    my ($route, $n) = @_;
    my $r = $t->mock_requests($route);
    return [ @$r[$n .. $#$r] ];
}

sub count { scalar @{ $t->mock_requests($_[0]) } }

# the seed's first example: b64_json, a style

my ($c0, $s0, $f0) = (count('chats'), count('storage'), count('files'));
my $res = images('{"prompt":"girl","response_format":"b64_json",'
                 . '"model":"gpt-4o","style":"vivid"}');
is($res->code, 200, 'b64_json: 200');
my $j = $res->json;
ok($j->{created} > 1_700_000_000, 'b64_json: created');
is(scalar @{ $j->{data} }, 1, 'b64_json: one image');

my $draw = since('chats', $c0)->[0];
my $look = since('storage', $s0)->[0];
my $file = since('files', $f0)->[0];

is($draw->{json}{source}, 'chat/pro_image', 'drawing: source');
is($draw->{json}{function_image_gen}, true, 'drawing: function_image_gen');
is($draw->{json}{model}, 'gpt-4o', 'drawing: model');
is_deeply($draw->{json}{messages}, [{ role => 'user', content => 'Draw: girl' }],
          'drawing: the prompt');
is($draw->{json}{image_aspect_ratio}, '1:1', 'drawing: aspect ratio');
is($draw->{json}{image_style}, 'vivid', 'drawing: style');
ok($draw->{sig_ok} && $look->{sig_ok}, 'drawing and look-up signed');
is($look->{path}, "/storage/$draw->{sent}{images}[0]{path}",
   'look-up: the placeholder\'s path');
is($file->{status}, 200, 'download: accepted by the storage host');
ok(!(grep { exists $file->{headers}{$_} }
     qw(authorization date x-cl-options client-time-zone cookie)),
   'download: none of the ChatOn headers sent');
my $bytes = decode_base64($j->{data}[0]{b64_json});
is(sha256_hex($bytes), $file->{sent}{sha256},
   'b64_json: decodes to the storage host\'s exact bytes');
like($bytes, qr/^\x89PNG\r\n/, 'b64_json: a PNG');

# the seed's second example: url

($c0, $s0) = (count('chats'), count('storage'));
$res = images('{"prompt": "girl", "model": "gpt-4o", "n": 1, '
              . '"size": "1024x1024"}');
is($res->code, 200, 'url: 200');
$draw = since('chats', $c0)->[0];
$look = since('storage', $s0)->[0];
is($res->json->{data}[0]{url}, $look->{sent}{getUrl},
   'url: the storage URL, query string intact');
ok(!exists $draw->{json}{image_style}, 'url: no style when none was given');
$res = $t->mock_ua->get($res->json->{data}[0]{url})->result;
is($res->code, 200, 'url: the URL works');

# GPT image models answer base64 whatever response_format says (the AI
# SDK reads only b64_json)

for my $case ([ 'gpt-image-1', 'url' ], [ 'gpt-image-1', undef ],
              [ 'chatgpt-image-latest', 'url' ])
{
    my ($model, $format) = @$case;
    ($f0) = count('files');
    $res = images({ prompt => 'a fox', model => $model,
                    defined $format ? (response_format => $format) : () });
    my $d = $res->json->{data}[0];
    my $name = "$model, response_format " . ($format // 'not given');
    is($res->code, 200, "$name: 200");
    ok(defined $d->{b64_json} && !exists $d->{url}, "$name: b64_json, no url");
    is(sha256_hex(decode_base64($d->{b64_json} // '')),
       since('files', $f0)->[0]{sent}{sha256}, "$name: the picture's bytes");
}

$res = images({ prompt => 'a fox', model => 'dall-e-3' });
ok(defined $res->json->{data}[0]{url}, 'dall-e-3: a url, as asked');

# n images, drawn in parallel

($c0) = count('chats');
$t->mock_knob({ route => 'chats', times => 3, event_interval_ms => 40 });
$res = images({ prompt => 'three cats', n => 3, response_format => 'b64_json' });
is($res->code, 200, 'n=3: 200');
is(scalar @{ $res->json->{data} }, 3, 'n=3: three images');
my %distinct = map { $_->{b64_json} => 1 } @{ $res->json->{data} };
is(scalar keys %distinct, 3, 'n=3: three different images');
my $draws = since('chats', $c0);
is(scalar @$draws, 3, 'n=3: three drawings');
my ($last_start) = sort { $b <=> $a } map { $_->{t} } @$draws;
my ($first_end) = sort { $a <=> $b } map { $_->{t_end} } @$draws;
ok($last_start < $first_end, 'n=3: the drawings ran at the same time');

# sizes

for my $size (['1792x1024', '16:9'], ['1536x1024', '16:9'],
              ['1024x1792', '9:16'], ['1024x1536', '9:16'],
              ['512x512', '1:1'], ['auto', '1:1'])
{
    ($c0) = count('chats');
    $res = images({ prompt => 'a', size => $size->[0] });
    is(since('chats', $c0)->[0]{json}{image_aspect_ratio}, $size->[1],
       "size $size->[0] -> $size->[1]");
}

# a failed attempt is retried

($c0) = count('chats');
$t->mock_knob({ route => 'chats', status => 500 });
$res = images({ prompt => 'retry me' });
is($res->code, 200, 'retry: the second attempt made it');
is(scalar @{ since('chats', $c0) }, 2, 'retry: two drawings');

$t->mock_knob({ route => 'files', status => 404 });
$res = images({ prompt => 'retry the download', response_format => 'b64_json' });
is($res->code, 200, 'retry after a failed download: 200');

# 2n attempts at most, then the error

($c0) = count('chats');
$t->mock_knob({ route => 'chats', status => 503, times => 0 });
$res = images({ prompt => 'never', n => 2 });
err($res, 502, 'all attempts failed: 502', code => 'backend_overloaded');
is(scalar @{ since('chats', $c0) }, 4, 'all attempts failed: 2n attempts');
$t->mock_reset;

$t->mock_knob({ route => 'chats', status => 429, times => 0,
                headers => { 'Retry-After' => '9' } });
$res = images({ prompt => 'limited' });
err($res, 429, 'rate limited: 429');
is($res->headers->header('Retry-After'), '9', 'rate limited: Retry-After');
$t->mock_reset;

# some made, some not: what was made

($c0) = count('chats');
$t->mock_knob({ route => 'chats', times => 1 },
              { route => 'chats', status => 500, times => 0 });
$res = images({ prompt => 'half', n => 2 });
is($res->code, 200, 'one of two: 200');
is(scalar @{ $res->json->{data} }, 1, 'one of two: the one image');
$t->mock_reset;

# the backend answers with text only: its words, not an empty success

$t->mock_knob({ route => 'chats', no_image => true });
my $e = err(images({ prompt => 'something forbidden' }), 400, 'refused',
            code => 'image_generation_refused');
like($e->{message}, qr/I'm sorry, but I can't create that image/,
     'refused: the backend\'s text');

# a large image, base64 without copies

$t->mock_knob({ route => 'storage', big_image => true });
($f0) = count('files');
$res = images({ prompt => 'big', response_format => 'b64_json' });
is($res->code, 200, 'big image: 200');
$file = since('files', $f0)->[0];
$bytes = decode_base64($res->json->{data}[0]{b64_json});
ok(length($bytes) > 4 * 1024 * 1024,
   'big image: ' . length($bytes) . ' bytes');
is(sha256_hex($bytes), $file->{sent}{sha256}, 'big image: exact bytes');

# validation

err(images('{"prompt":'), 400, 'invalid JSON');
err(images({}), 400, 'no prompt', param => 'prompt');
err(images({ prompt => '' }), 400, 'empty prompt', param => 'prompt');
($c0) = count('chats');
my $missing = err(images({}), 400, 'no prompt', param => 'prompt');
my $blank = err(images({ prompt => '   ' }), 400, 'blank prompt', param => 'prompt',
                code => undef);
is($blank->{type}, $missing->{type}, 'blank prompt: the type of a missing one');
err(images({ prompt => " \t\n" }), 400, 'blank prompt, tabs and newlines',
    param => 'prompt');
is(count('chats'), $c0, 'blank prompts: nothing drawn');
err(images({ prompt => 'x' x 4001 }), 400, 'prompt too long', param => 'prompt');
is(images({ prompt => "\x{263a}" x 4000 })->code, 200,
   '4000 characters (12000 bytes) are fine');
err(images({ prompt => 'a', n => 0 }), 400, 'n=0', param => 'n');
err(images({ prompt => 'a', n => 11 }), 400, 'n=11', param => 'n');
err(images({ prompt => 'a', n => '2' }), 400, 'n a string', param => 'n');
err(images({ prompt => 'a', size => '100x100' }), 400, 'unknown size',
    param => 'size');
err(images({ prompt => 'a', response_format => 'png' }), 400,
    'response_format', param => 'response_format');
err(images({ prompt => 'a', style => 7 }), 400, 'style', param => 'style');
err($t->get('/v1/images/generations'), 405, 'GET');

$t->finish;

done_testing;
