#!/usr/bin/env perl
# Several ChatOn credential sets: a request the backend refuses for one set
# (401, 403, 429) is made again with the next, before any byte reached the
# client; at most once per set.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new(no_start => 1);

my @sets = ($t->cred_file('first'), $t->cred_file('second'),
            $t->cred_file('wrong', 'not-the-key'));

$t->{o}{http} = "log_format creds '\$chaton_credential|\$chaton_backend_addr|"
                . "\$chaton_backend_status|\$status';";
$t->{o}{server} = 'access_log logs/creds.log creds;';
$t->{o}{api} = join "\n", map { "chaton_credentials $_;" } @sets[0, 1];
$t->{o}{backend} = '';
$t->start_nginx;

*err = \&ChatonTest::is_openai_error;

sub count { scalar @{ $t->mock_requests('chats') } }

sub last_log {
    my @l = split /\n/, $t->slurp('logs/creds.log');
    return $l[-1];
}

# the first set limited: the second one answers

my $n = count();
$t->mock_knob({ route => 'chats', status => 429 });
my $res = $t->chat;
is($res->code, 200, '429 on one set: answered by the next');
my $recs = $t->mock_requests('chats');
is(scalar @$recs - $n, 2, '429 on one set: two calls');
is($recs->[-2]{status}, 429, 'the first was limited');
is($recs->[-1]{status}, 200, 'the second was served');
like(last_log(), qr/^(first|second)\|127\.0\.0\.1:\d+\|200\|200$/,
     '$chaton_credential and $chaton_backend_addr name who served');
like($t->error_log, qr/answered 429 to credential set "(first|second)", trying the next/,
     'the retry is logged (the set\'s name only)');

# streamed: the retry happens before any byte, the stream is whole

$n = count();
$t->mock_knob({ route => 'chats', status => 401 });
my $s = $t->chat_stream;
$recs = $t->mock_requests('chats');
is($s->{status}, 200, '401 on one set, streamed: 200');
is(scalar @$recs - $n, 2, '401 on one set, streamed: two calls');
is(ChatonTest::stream_text($s->{events}), $recs->[-1]{sent}{content},
   '401 on one set, streamed: byte-exact');
is(scalar(grep { defined $_->{json} && $_->{json}{choices}
                 && $_->{json}{choices}[0]{delta}{role} } @{ $s->{events} }),
   1, 'the role once: nothing of the refused call reached the client');

# the ChatOn body lives in a pool of its own until the answer begins: the
# retry sends it again, byte for byte (and the second set's signature of
# it was good, or the mock would have refused it)
is($recs->[-1]{body}, $recs->[-2]{body},
   '401 on one set, streamed: the retry sends the same ChatOn body');
ok(length($recs->[-1]{body} // '') > 0, 'the retried body is not empty');

# every set refused: bounded, then the error

$n = count();
$t->mock_knob({ route => 'chats', status => 429, times => 0,
                headers => { 'Retry-After' => '3' } });
$res = $t->chat;
err($res, 429, 'every set limited: 429');
is($res->headers->header('Retry-After'), '3', 'every set limited: Retry-After');
is(count() - $n, 2, 'every set limited: one call per set, no more');
$t->mock_reset;

# other routes retry too: speech, images, uploads

$t->mock_knob({ route => 'speech', status => 429 });
is($t->post('/v1/audio/speech', { model => 'tts-1', input => 'x' })->code, 200,
   'speech: retried with the next set');
$t->mock_knob({ route => 'storage', status => 403 });
is($t->post('/v1/images/generations', { prompt => 'x' })->code, 200,
   'image look-up: retried with the next set');

# a wrong set among good ones: every request is served

$t->stop_nginx;
$t->{o}{api} = join "\n", map { "chaton_credentials $_;" } @sets[2, 0];
$t->start_nginx;

$n = count();
my @codes = map { $t->chat->code } 1 .. 4;
is_deeply(\@codes, [200, 200, 200, 200],
          'a wrong set and a good one: all served');
$recs = $t->mock_requests('chats');
my @refused = grep { $_->{status} == 401 } @$recs[$n .. $#$recs];
is(scalar @refused, 2, 'the wrong set was tried every other request');

$t->finish;

done_testing;
