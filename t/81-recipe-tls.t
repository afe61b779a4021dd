#!/usr/bin/env perl
# The TLS recipe (conf.d/tls.conf.template): HTTPS with HTTP/2 towards
# clients, with a certificate made here with openssl; verified TLS towards
# the backend (the mock served over TLS with a certificate for mock.test
# from a CA nginx trusts).  Streams arrive byte-exact and as they are made
# over HTTP/1.1 and over HTTP/2 (curl); a backend whose certificate is not
# trusted, or is for another name, is a 502 in OpenAI's JSON and is sent
# nothing.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Mojo::JSON qw(encode_json true);
use Mojo::UserAgent;

use ChatonTest;
use ChatonTLS;

my $ROOT = $ChatonTest::ROOT;
my $TEMPLATE = "$ROOT/conf.d/tls.conf.template";

my $aux = tempdir('chaton-recipe-tls-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{TEST_NGINX_LEAVE});

# the CA nginx trusts for the backend, and the mock's certificate from it;
# a CA nginx does not trust, with a certificate for the same name; the
# certificate nginx shows clients
my ($ca, $ca_key) = ChatonTLS::make_ca($aux, 'ca');
my ($mock_crt, $mock_key) = ChatonTLS::make_cert($aux, 'mock', $ca, $ca_key,
                                                 'DNS:mock.test');
my ($rogue_ca, $rogue_ca_key) = ChatonTLS::make_ca($aux, 'rogue-ca');
my ($rogue_crt, $rogue_key) = ChatonTLS::make_cert($aux, 'rogue', $rogue_ca,
                                                   $rogue_ca_key, 'DNS:mock.test');
my ($srv_crt, $srv_key) = ChatonTLS::make_cert($aux, 'server', $ca, $ca_key,
                                               'DNS:chaton.test', 'IP:127.0.0.1');

sub tls_gateway {
    my (%o) = @_;
    return ChatonTest->new(
        template  => $TEMPLATE,
        mock_args => ['--tls-cert', $o{mock_crt} // $mock_crt,
                      '--tls-key', $o{mock_key} // $mock_key],
        env       => {
            CHATON_TLS_CERT      => $srv_crt,
            CHATON_TLS_KEY       => $srv_key,
            CHATON_UPSTREAM_CA   => $ca,
            CHATON_UPSTREAM_HOST => $o{name} // 'mock.test',
        });
}

my $t = tls_gateway();
my $port = $t->port;
like($t->mock_base, qr{^https://}, 'the mock serves HTTPS');

my $https = Mojo::UserAgent->new(ca => $ca, inactivity_timeout => 30,
                                 request_timeout => 60);

sub https_post {
    my ($gw, $body) = @_;
    return $https->post('https://127.0.0.1:' . $gw->port
                        . '/v1/chat/completions' => json => $body)->result;
}

# a streamed chat through curl (HTTP/1.1 or HTTP/2), read as it arrives
my $n = 0;
sub curl_stream {
    my ($port, $proto, $body) = @_;
    my $hdr = "$aux/headers-" . ++$n;
    my @cmd = ('curl', '-sS', '-N', ($proto eq 'h2' ? '--http2' : '--http1.1'),
               '--cacert', $ca, '--resolve', "chaton.test:$port:127.0.0.1",
               '-D', $hdr, '-H', 'Content-Type: application/json',
               '--data-binary', encode_json($body),
               "https://chaton.test:$port/v1/chat/completions");
    my $t0 = time;
    open(my $fh, '-|', @cmd) or die "curl: $!";
    my (@chunks, $all);
    while (sysread($fh, my $buf, 65536)) {
        push @chunks, { t => time - $t0, data => $buf };
        $all .= $buf;
    }
    close $fh;
    my $rc = $? >> 8;
    open my $h, '<', $hdr or die "$hdr: $!";
    my $headers = do { local $/; <$h> };
    return { rc => $rc, headers => $headers, chunks => \@chunks,
             body => $all // '', events => [ ChatonTest::parse_sse($all // '') ] };
}

# a whole chat over HTTPS (HTTP/1.1)

my $res = https_post($t, { model => 'gpt-4o',
                           messages => [{ role => 'user', content => 'hello' }] });
my $rec = $t->mock_wait('chats', 1)->[-1];
is($res->code, 200, 'https whole chat: 200');
is($res->json->{choices}[0]{message}{content}, $rec->{sent}{content},
   'https whole chat: the content the backend sent, byte for byte');
ok($rec->{sig_ok}, 'backend over TLS: signature valid');
is($rec->{headers}{host}, 'mock.test', 'backend over TLS: Host is the name verified');

# streams over HTTP/1.1 and HTTP/2, byte-exact (the mock splits its writes
# at random, UTF-8 sequences included)

my $count = 1;
for my $proto (qw(h1 h2)) {
    my $s = curl_stream($port, $proto, {
        model => 'gpt-4o', stream => true,
        messages => [{ role => 'user', content => "héllo wörld ✓ 你好 $proto" }] });
    $rec = $t->mock_wait('chats', ++$count)->[-1];

    is($s->{rc}, 0, "$proto stream: curl succeeded");
    like($s->{headers}, $proto eq 'h2' ? qr{\AHTTP/2 200\b} : qr{\AHTTP/1\.1 200\b},
         "$proto stream: answered over " . ($proto eq 'h2' ? 'HTTP/2' : 'HTTP/1.1'));
    like($s->{headers}, qr{^content-type: text/event-stream}mi,
         "$proto stream: an event stream");
    my @chunks = grep { $_->{json} } @{ $s->{events} };
    ok(@chunks > 2 && !(grep { $_->{json}{object} ne 'chat.completion.chunk' } @chunks),
       "$proto stream: every event a chat.completion.chunk");
    is($s->{events}[-1]{data}, '[DONE]', "$proto stream: ends with [DONE]");
    like($rec->{json}{messages}[0]{content}, qr/✓ 你好 $proto/,
         "$proto stream: the backend got the message, UTF-8 intact");
    ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
        "$proto stream: the content the backend sent, byte for byte");
}

# tokens leave as they are made, over both protocols: the first content
# arrives well before the end

for my $proto (qw(h1 h2)) {
    $t->mock_knob({ route => 'chats', event_interval_ms => 100,
                    split => 'event', text => 'one two three four five six' });
    my $s = curl_stream($port, $proto, { model => 'gpt-4o', stream => true,
                                  messages => [{ role => 'user', content => 'hi' }] });
    $t->mock_wait('chats', ++$count);
    my $first = (grep { $_->{data} =~ /"content":"[^"]/ } @{ $s->{chunks} })[0];
    my $end = @{ $s->{chunks} } ? $s->{chunks}[-1]{t} : 0;
    ok($first && $first->{t} < $end - 0.4,
       sprintf("$proto paced stream: first content at %.2fs, end at %.2fs",
               $first ? $first->{t} : -1, $end));
    is(ChatonTest::stream_text($s->{events}), 'one two three four five six',
       "$proto paced stream: the text intact");
}

# a burst over both protocols (the backend sends 3,000 deltas at once,
# over TLS): the reads that fill the buffer are written together
# (chaton_coalesce_size), and the stream is byte-exact

for my $proto (qw(h1 h2)) {
    $t->mock_knob({ route => 'chats', deltas => 3000, split => 'none',
                    delay_ms => 0 });
    my $s = curl_stream($port, $proto, { model => 'gpt-4o', stream => true,
                                  messages => [{ role => 'user', content => 'hi' }] });
    $rec = $t->mock_wait('chats', ++$count)->[-1];
    is($s->{events}[-1]{data}, '[DONE]', "$proto burst: ends with [DONE]");
    ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
        "$proto burst: the content the backend sent, byte for byte");
}

# a trusted certificate, but for another name than proxy_ssl_name: a
# second gateway to the same mock, verifying the name other.test

my ($mock_port) = $t->mock_base =~ /:(\d+)$/;
my $before = scalar @{ $t->mock_requests('chats') };
my $w = ChatonTest->new(
    template => $TEMPLATE, no_mock => 1,
    env      => {
        CHATON_TLS_CERT        => $srv_crt,
        CHATON_TLS_KEY         => $srv_key,
        CHATON_UPSTREAM_CA     => $ca,
        CHATON_UPSTREAM_SERVER => "127.0.0.1:$mock_port",
        CHATON_UPSTREAM_HOST   => 'other.test',
    });
$res = https_post($w, { model => 'gpt-4o',
                        messages => [{ role => 'user', content => 'hello' }] });
ChatonTest::is_openai_error($res, 502,
    'backend certificate for another name: 502, OpenAI JSON',
    code => 'backend_unreachable');
is(scalar @{ $t->mock_requests('chats') }, $before,
   'backend certificate for another name: the backend was sent nothing');
like($w->error_log, qr/upstream SSL certificate does not match "other\.test"/,
     'backend certificate for another name: the error log says why');
$w->finish;
$t->finish;

# a backend certificate from a CA nginx does not trust

my $u = tls_gateway(mock_crt => $rogue_crt, mock_key => $rogue_key);
$res = https_post($u, { model => 'gpt-4o',
                        messages => [{ role => 'user', content => 'hello' }] });
ChatonTest::is_openai_error($res, 502,
    'untrusted backend certificate: 502, OpenAI JSON', code => 'backend_unreachable');
my $s = curl_stream($u->port, 'h2', { model => 'gpt-4o', stream => true,
                             messages => [{ role => 'user', content => 'hello' }] });
like($s->{headers}, qr{\AHTTP/2 502\b}, 'untrusted backend certificate, h2 stream: 502');
like($s->{body}, qr/^\{"error":\{/,
     'untrusted backend certificate, h2 stream: a JSON error, not SSE');
is(scalar @{ $u->mock_requests('chats') }, 0,
   'untrusted backend certificate: the backend was sent nothing');
like($u->error_log, qr/upstream SSL certificate verify error/,
     'untrusted backend certificate: the error log says why');
$u->finish;

done_testing;
