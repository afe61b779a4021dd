#!/usr/bin/env perl
# Images in messages: data URLs uploaded to ChatOn's storage (in parallel,
# exact bytes, order kept), http(s) URLs passed as they are, and every
# refusal naming the part.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(encode_base64 decode_base64);
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new(
    api => "client_body_buffer_size 4k;\nchaton_max_image_size 6m;");

*err = \&ChatonTest::is_openai_error;

sub count { scalar @{ $t->mock_requests($_[0]) } }

sub since {
    my ($route, $n) = @_;
    my $r = $t->mock_requests($route);
    return [ @$r[$n .. $#$r] ];
}

# images of each type, real enough for the backend's checks
my $png = decode_base64('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==');
my $jpeg = "\xff\xd8\xff\xe0\x00\x10JFIF\x00" . ('jpegdata' x 20) . "\xff\xd9";
my $gif = "GIF89a\x01\x00\x01\x00" . ('gifdata' x 10) . ';';
my $webp = 'RIFF' . pack('V', 30) . 'WEBPVP8 ' . ('webpdata' x 3);

sub data_url { "data:$_[0];base64," . encode_base64($_[1], '') }
sub image_part { { type => 'image_url', image_url => { url => $_[0] } } }

# the seed's vision example

my ($u0, $c0) = (count('upload'), count('chats'));
my $res = $t->chat(messages => [{ role => 'user', content => [
    { type => 'text', text => 'What is in this image?' },
    image_part(data_url('image/png', $png)) ] }]);
is($res->code, 200, 'vision: 200');
like($res->json->{choices}[0]{message}{content}, qr/I see 1 image/,
     'vision: the backend saw the image');

my $up = since('upload', $u0)->[0];
my $chat = since('chats', $c0)->[0];
ok($up->{sig_ok}, 'upload: signed (over an empty body)');
is($up->{method}, 'POST', 'upload: POST');
is($up->{path}, '/storage/upload', 'upload: path');
is($up->{upload}{field}, 'file', 'upload: the part is "file"');
like($up->{upload}{filename}, qr/^\d{13}\.png$/, 'upload: <millis>.png');
is($up->{upload}{content_type}, 'image/png', 'upload: the part\'s type');
is($up->{upload}{sha256}, sha256_hex($png), 'upload: the exact bytes');
is_deeply($up->{warnings}, [], 'upload: no complaint from the backend');
is($chat->{json}{source}, 'chat/image_upload', 'chat: source');
is_deeply($chat->{json}{messages}, [{ role => 'user',
    content => 'What is in this image?',
    images => [{ data => $up->{sent}{getUrl} }] }],
    'chat: the upload\'s URL in images[].data');

# three images across two messages, uploaded at once, order kept

$t->mock_knob({ route => 'upload', times => 3, stall_ms => 300 });
($u0, $c0) = (count('upload'), count('chats'));
$res = $t->chat(messages => [
    { role => 'user', content => [
        { type => 'text', text => 'first' },
        image_part(data_url('image/jpeg', $jpeg)),
        image_part('https://example.com/remote.png'),
        image_part(data_url('image/gif', $gif)) ] },
    { role => 'assistant', content => 'I see them.' },
    { role => 'user', content => [
        image_part(data_url('image/webp', $webp)),
        { type => 'text', text => 'and this one?' } ] } ]);
is($res->code, 200, 'three uploads: 200');
my $ups = since('upload', $u0);
$chat = since('chats', $c0)->[0];
is(scalar @$ups, 3, 'three uploads');
my %by_sha = map { $_->{upload}{sha256} => $_ } @$ups;
ok($by_sha{ sha256_hex($jpeg) } && $by_sha{ sha256_hex($gif) }
   && $by_sha{ sha256_hex($webp) }, 'three uploads: the exact bytes of each');
is($by_sha{ sha256_hex($gif) }{upload}{content_type}, 'image/gif',
   'gif: its type');
like($by_sha{ sha256_hex($webp) }{upload}{filename}, qr/\.webp$/,
     'webp: its extension');
my ($last_start) = sort { $b <=> $a } map { $_->{t} } @$ups;
my ($first_end) = sort { $a <=> $b } map { $_->{t_end} } @$ups;
ok($last_start < $first_end, 'three uploads: at the same time');
ok($chat->{t} >= $_->{t_end} - 0.01, 'the chat started after the uploads')
    for @$ups;
is_deeply($chat->{json}{messages}[0]{images},
          [{ data => $by_sha{ sha256_hex($jpeg) }{sent}{getUrl} },
           { data => 'https://example.com/remote.png' },
           { data => $by_sha{ sha256_hex($gif) }{sent}{getUrl} }],
          'first message: its images in order, the http one untouched');
is_deeply($chat->{json}{messages}[2]{images},
          [{ data => $by_sha{ sha256_hex($webp) }{sent}{getUrl} }],
          'second message: its image');
is($chat->{json}{messages}[2]{content}, 'and this one?',
   'second message: its text');

# a request of several MiB: body spooled to a temp file, image decoded

my $big = "\x89PNG\r\n\x1a\n" . join '', map { chr(($_ * 7) & 0xff) } 1 .. 4 * 1024 * 1024;
($u0) = count('upload');
$res = $t->chat(messages => [{ role => 'user', content => [
    { type => 'text', text => 'big' }, image_part(data_url('image/png', $big)) ] }]);
is($res->code, 200, 'a 5.6 MB request: 200');
is(since('upload', $u0)->[0]{upload}{sha256}, sha256_hex($big),
   'a 4 MiB image: uploaded byte for byte');
like($t->error_log, qr/client request body is buffered to a temporary file/,
     'the body was in a temp file');

# refusals, each naming the part

err($t->chat(messages => [{ role => 'user', content => [
    image_part('data:image/png;base64,***not base64***') ] }]),
    400, 'not base64', param => 'messages[0].content[0]');
err($t->chat(messages => [{ role => 'user', content => [
    { type => 'text', text => 'x' },
    image_part('data:image/bmp;base64,' . encode_base64('BMxx', '')) ] }]),
    400, 'bmp', param => 'messages[0].content[1]', code => 'invalid_image_format');
err($t->chat(messages => [{ role => 'user', content => [
    image_part('data:image/png,rawbytes') ] }]),
    400, 'not ;base64', param => 'messages[0].content[0]');
err($t->chat(messages => [{ role => 'user', content => 'a' },
                          { role => 'user', content => [
    image_part(data_url('image/png', "\x89PNG" . ('x' x (6 * 1024 * 1024)))) ] }]),
    400, 'over chaton_max_image_size', param => 'messages[1].content[0]',
    code => 'image_too_large');
err($t->chat(messages => [{ role => 'user', content => [
    image_part('ftp://example.com/a.png') ] }]),
    400, 'not http or data', param => 'messages[0].content[0]');
err($t->chat(messages => [{ role => 'user', content => [] }]), 400,
    'empty content array', param => 'messages[0].content');

# an upload the backend refuses fails the request, naming the image

($c0) = count('chats');
$t->mock_knob({ route => 'upload', status => 500 });
my $e = err($t->chat(messages => [{ role => 'user', content => [
    { type => 'text', text => 'what is this' },
    image_part(data_url('image/png', $png)) ] }]),
    502, 'upload refused', param => 'messages[0].content[1]',
    code => 'upload_failed');
like($e->{message}, qr/messages\[0\]\.content\[1\]/,
     'upload refused: the message names the image');
is(count('chats'), $c0, 'upload refused: no chat about no picture');

$t->mock_knob({ route => 'upload', status => 429,
                headers => { 'Retry-After' => '6' } });
err($t->chat(stream => true, messages => [{ role => 'user', content => [
    image_part(data_url('image/png', $png)) ] }]),
    429, 'upload rate limited: 429');

# streamed answers with uploads

($u0) = count('upload');
my $s = $t->chat_stream(messages => [{ role => 'user', content => [
    { type => 'text', text => 'look' }, image_part(data_url('image/png', $png)) ] }]);
is($s->{events}[-1]{data}, '[DONE]', 'stream with an upload: complete');
like(ChatonTest::stream_text($s->{events}), qr/I see 1 image/,
     'stream with an upload: the image seen');

$t->finish;

done_testing;
