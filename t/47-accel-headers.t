#!/usr/bin/env perl
# nginx's X-Accel-* headers from a backend are ignored in the three internal
# locations (conf.d/chaton-backend.conf, chaton-fetch.conf,
# chaton-passthrough.conf): a backend, or anything between it and nginx,
# cannot turn buffering back on (a stream would arrive all at the end),
# redirect a call to an internal location, or change its rate or charset.
# Each header is sent by the backend and the module's behaviour is the same
# as without it: streams spread over time and byte-exact, no redirect.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64);
use Mojo::UserAgent;

use ChatonTest;

# each header with a value that would change something if nginx honoured
# it (/accel-redirected answers what a redirect would put in the answer)
my %ACCEL = (
    'X-Accel-Redirect'   => '/accel-redirected',
    'X-Accel-Buffering'  => 'yes',
    'X-Accel-Limit-Rate' => '1',
    'X-Accel-Charset'    => 'koi8-r',
    'X-Accel-Expires'    => '3600',
);
my $REDIRECTED = 'REDIRECTED-BY-X-ACCEL';

# the other OpenAI-compatible server, for the passthrough location

my $pid = open(my $out, '-|', "$ChatonTest::ROOT/scripts/mock-openai")
    // die "mock-openai: $!";
my ($other) = <$out> =~ m{listening on (http://\S+)};
END { kill 'TERM', $pid if $pid }

my $t = ChatonTest->new(
    server => "location /accel-redirected {\n"
              . "    internal;\n"
              . "    return 200 \"$REDIRECTED\";\n"
              . "}\n"
              . "location /openai-upstream/ {\n"
              . "    internal;\n"
              . "    proxy_pass $other/v1/;\n"
              . "    include $ChatonTest::ROOT/conf.d/chaton-passthrough.conf;\n"
              . "}",
    api    => 'chaton_passthrough /openai-upstream/;');

my $ua = Mojo::UserAgent->new(request_timeout => 30);
$t->ua->request_timeout(10);    # a redirected call never ends
my $n = 0;

# a stream paced by its server: the first words must reach the client
# well before the last (0.3s)
sub spread_ok {
    my ($s, $name) = @_;
    my $first = (grep { $_->{data} =~ /"content":"[^"]/ } @{ $s->{chunks} })[0];
    my $end = @{ $s->{chunks} } ? $s->{chunks}[-1]{t} : 0;
    ok($first && $first->{t} < $end - 0.3,
       sprintf("$name: events spread over time (first words at %.2fs,"
               . " end at %.2fs)", $first ? $first->{t} : -1, $end));
}

# ChatOn's backend location, each header alone: a stream paced by the
# backend (40 ms between events; the end of the answer is the end of the
# connection, so that a buffering nginx would have nothing make it pass a
# partial buffer on), and a whole chat

for my $h (sort keys %ACCEL) {
    my $what = "backend, $h: $ACCEL{$h}";
    my $text = 'one two three four';

    $t->mock_knob({ route => 'chats', event_interval_ms => 40, split => 'event',
                    framing => 'close', text => $text,
                    headers => { $h => $ACCEL{$h} } });
    my $s = $t->chat_stream;
    my $rec = $t->mock_wait('chats', ++$n)->[-1];
    is($rec->{knob}{headers}{$h}, $ACCEL{$h}, "$what: the backend sent it");
    is($s->{status}, 200, "$what: stream 200");
    like($s->{res}->headers->content_type, qr{^text/event-stream},
         "$what: stream is an event stream");
    is(ChatonTest::stream_text($s->{events}), $text,
       "$what: stream text intact");
    is(($s->{events}[-1] // {})->{data}, '[DONE]',
       "$what: stream ends with [DONE]");
    unlike($s->{body}, qr/$REDIRECTED/, "$what: stream not redirected");
    spread_ok($s, "$what: stream");

    $t->mock_knob({ route => 'chats', split => 'none', text => "whole $h",
                    headers => { $h => $ACCEL{$h} } });
    my $res = $t->chat;
    $rec = $t->mock_wait('chats', ++$n)->[-1];
    is($res->code, 200, "$what: whole 200");
    is($res->json->{choices}[0]{message}{content}, "whole $h",
       "$what: whole, the backend's content");
}

# the fetch location: a generated image downloaded from a storage host
# that sends all five

my $files = scalar @{ $t->mock_requests('files') };
$t->mock_knob({ route => 'files', headers => \%ACCEL });
my $res = $t->post('/v1/images/generations',
                   { prompt => 'a cat', response_format => 'b64_json' });
my $file = $t->mock_wait('files', $files + 1)->[-1];
is_deeply($file->{knob}{headers}, \%ACCEL, 'fetch: the storage host sent them');
is($res->code, 200, 'fetch: 200');
my $b64 = eval { $res->json->{data}[0]{b64_json} } // '';
is(sha256_hex(decode_base64($b64)), $file->{sent}{sha256},
   'fetch: the storage host\'s exact bytes, not redirected');

# the passthrough location, each header alone: another OpenAI-compatible
# server's stream, one word every 10 ms

my $words = join ' ', map { "w$_" } 1 .. 45;
for my $h (sort keys %ACCEL) {
    my $what = "passthrough, $h: $ACCEL{$h}";

    $ua->post("$other/__mock/headers" => json => { $h => $ACCEL{$h} })->result;
    my $s = $t->chat_stream(
        model => 'llama-3-8b',
        messages => [{ role => 'user', content => $words }]);
    is($s->{status}, 200, "$what: 200");
    is(ChatonTest::stream_text($s->{events}), "openai-mock: $words",
       "$what: the other server's text intact");
    unlike($s->{body}, qr/$REDIRECTED/, "$what: not redirected");
    spread_ok($s, $what);
}
kill 'TERM', $pid;
waitpid $pid, 0;
undef $pid;

$t->finish;

done_testing;
