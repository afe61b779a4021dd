#!/usr/bin/env perl
# POST /v1/audio/speech: audio streamed through as the backend sends it,
# OpenAI's SSE form, errors as JSON (never a 200 "mp3" of JSON).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64);
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new;

*err = \&ChatonTest::is_openai_error;

sub speech { $t->post('/v1/audio/speech', @_) }

# the seed's example

my $res = speech('{"model":"tts-1","input":"Hello there","voice":"nova"}');
my $rec = $t->mock_wait('speech', 1)->[-1];
is($res->code, 200, 'speech: 200');
is($res->headers->content_type, 'audio/mpeg', 'speech: audio/mpeg');
is(sha256_hex($res->body), $rec->{sent}{sha256},
   'speech: the backend\'s exact bytes');
is(length($res->body), $rec->{sent}{length}, 'speech: every byte');
like($res->body, qr/^(ID3|\xff[\xe0-\xff])/, 'speech: an mp3');
ok($rec->{sig_ok}, 'backend: signed');
is_deeply($rec->{json}, { input => 'Hello there', model => 'tts-1',
                          voice => 'nova', response_format => 'mp3',
                          speed => 1, stream => false },
          'backend: the translated body');

$res = speech({ model => 'tts-1-hd', input => "caf\x{e9}", speed => 1.5,
                voice => 'onyx', response_format => 'mp3' });
$rec = $t->mock_wait('speech', 2)->[-1];
is($res->code, 200, 'tts-1-hd: 200');
is($rec->{json}{speed}, 1.5, 'speed passed');
is($rec->{json}{voice}, 'onyx', 'voice passed');
is($rec->{json}{model}, 'tts-1-hd', 'model passed');

# the audio streams: the first bytes arrive before the backend is done

$t->mock_knob({ route => 'speech', delay_ms => 150 });
my $s = $t->stream('/v1/audio/speech',
                   { model => 'tts-1', input => 'slowly', voice => 'echo' });
$rec = $t->mock_wait('speech', 3)->[-1];
my @c = @{ $s->{chunks} };
ok(@c >= 3, scalar(@c) . ' pieces arrived');
ok($c[0]{t} < $c[-1]{t} - 0.5,
   sprintf('first bytes at %.2fs, last at %.2fs', $c[0]{t}, $c[-1]{t}));
is(sha256_hex($s->{body}), $rec->{sent}{sha256}, 'streamed: exact bytes');

# OpenAI's streamed form

$s = $t->stream('/v1/audio/speech', { model => 'tts-1', input => 'sse please',
                                     stream_format => 'sse' });
$rec = $t->mock_wait('speech', 4)->[-1];
is($s->{status}, 200, 'sse: 200');
like($s->{res}->headers->content_type, qr{^text/event-stream}, 'sse: events');
my @ev = grep { $_->{json} } @{ $s->{events} };
my @deltas = grep { $_->{json}{type} eq 'speech.audio.delta' } @ev;
ok(@deltas >= 2, scalar(@deltas) . ' delta events');
my $audio = join '', map { decode_base64($_->{json}{audio}) } @deltas;
is(sha256_hex($audio), $rec->{sent}{sha256}, 'sse: the deltas decode to the exact bytes');
is($ev[-1]{json}{type}, 'speech.audio.done', 'sse: done last');
ok($ev[-1]{json}{usage}{total_tokens} > 0, 'sse: usage');

# errors are errors

$t->mock_knob({ route => 'speech', status => 429,
                headers => { 'Retry-After' => '4' } });
$res = speech({ model => 'tts-1', input => 'x' });
err($res, 429, 'backend 429: a 429 JSON, not audio');
is($res->headers->header('Retry-After'), '4', 'backend 429: Retry-After');

$t->mock_knob({ route => 'speech', status => 500 });
err(speech({ model => 'tts-1', input => 'x' }), 502, 'backend 500');

$t->mock_knob({ route => 'speech', status => 200,
                content_type => 'application/json',
                body => '{"error":"quota"}' });
err(speech({ model => 'tts-1', input => 'x' }), 502,
    'backend 200 with JSON: an error, not an mp3', code => 'bad_backend_answer');

$t->mock_knob({ route => 'speech', status => 400, body => '{"error":"too long"}' });
my $e = err(speech({ model => 'tts-1', input => 'x' }), 400, 'backend 400');
is($e->{message}, 'too long', 'backend 400: its message');

$t->mock_knob({ route => 'speech', drop_after_events => 1, framing => 'chunked' });
$s = $t->stream('/v1/audio/speech', { model => 'tts-1', input => 'cut',
                                     stream_format => 'sse' });
is($s->{events}[-1]{json}{error}{code}, 'backend_truncated',
   'cut audio, sse: an error event');

$t->mock_knob({ route => 'speech', drop_after_events => 1, framing => 'chunked' });
my $body = '{"model":"tts-1","input":"cut"}';
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port)
    or die $!;
print $sock "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: application/json\r\nContent-Length: " . length($body)
    . "\r\n\r\n$body";
my $raw = do { local $/; <$sock> };
$rec = $t->mock_wait('speech', 10)->[-1];
is($rec->{sent}{dropped}, 'after_events', 'cut audio: the backend cut it');
like($raw, qr{^HTTP/1\.1 200 .*Transfer-Encoding: chunked}s,
     'cut audio: it had begun');
unlike($raw, qr/\r\n0\r\n\r\n\z/,
       'cut audio: the response is not ended as if whole (no last chunk)');

# validation

err(speech('{"model":'), 400, 'invalid JSON');
err(speech({ model => 'tts-1' }), 400, 'no input', param => 'input');
err(speech({ model => 'tts-1', input => '' }), 400, 'empty input',
    param => 'input');
err(speech({ model => 'tts-1', input => 'x' x 4097 }), 400, 'input too long',
    param => 'input');
is(speech({ model => 'tts-1', input => "\x{263a}" x 4096 })->code, 200,
   '4096 characters are fine');
err(speech({ input => 'x' }), 400, 'no model', param => 'model');
err(speech({ model => 'gpt-4o-mini-tts', input => 'x' }), 400, 'other model',
    param => 'model');
err(speech({ model => 'tts-1', input => 'x', voice => 'bob' }), 400,
    'unknown voice', param => 'voice');
err(speech({ model => 'tts-1', input => 'x', response_format => 'opus' }),
    400, 'opus', param => 'response_format');
err(speech({ model => 'tts-1', input => 'x', speed => 5 }), 400, 'speed',
    param => 'speed');
err(speech({ model => 'tts-1', input => 'x', speed => 0.1 }), 400,
    'speed too low', param => 'speed');
err(speech({ model => 'tts-1', input => 'x', stream_format => 'mp3' }), 400,
    'stream_format', param => 'stream_format');
err($t->get('/v1/audio/speech'), 405, 'GET');

my $n = grep { $_->{route} eq 'speech' } @{ $t->mock_requests };
is($n, 11, 'refused requests never reached the backend');

$t->finish;

done_testing;
