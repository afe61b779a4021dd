#!/usr/bin/env perl
# Self-test of the mock ChatOn backend (scripts/mock-chaton): its signature
# checks, routes, recordings and fault knobs. Requests are signed here with an
# independent implementation of the protocol (Digest::SHA + MIME::Base64).
use strict;
use warnings;
use Test::More;
use FindBin;
use POSIX qw(strftime);
use Time::HiRes ();
use Digest::SHA qw(hmac_sha256 sha256_hex);
use MIME::Base64 qw(encode_base64 decode_base64);
use Encode qw(decode_utf8 encode_utf8);
use Mojo::UserAgent;
use IO::Socket::INET;
use Compress::Zlib ();
use Mojo::JSON qw(decode_json encode_json true false);

my $ROOT = "$FindBin::Bin/..";
my @MOCKS;
END { kill 'TERM', $_->{pid} for grep { $_->{pid} } @MOCKS }

# Start a mock on a free port; its first stdout line says where.
sub start_mock {
  my (%o) = @_;
  my @args = ('--listen', '127.0.0.1:0', '--quiet');
  push @args, '--key-a', $o{key_a_arg} if defined $o{key_a_arg};
  push @args, '--key-b', $o{key_b_arg} if defined $o{key_b_arg};
  my $pid = open(my $out, '-|', $^X, "$ROOT/scripts/mock-chaton", @args) or die "cannot start mock: $!";
  my $line = eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 10;
    my $l = <$out>;
    alarm 0;
    $l;
  };
  die "mock did not start\n" unless defined $line && $line =~ m{^mock-chaton listening on (http://127\.0\.0\.1:(\d+))\n\z};
  my $m = {
    pid   => $pid,
    fh    => $out,
    base  => $1,
    key_a => $o{key_a} // 'demo-key-a',
    key_b => $o{key_b} // 'demo-key-b',
    ua    => 'ChatOn_Android/1.66.536 (Linux; U; Android 13; demo) mock',
  };
  push @MOCKS, $m;
  return $m;
}

sub chaton_date { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(shift // time)) }

# The ChatOn headers for one request, signed over METHOD:PATH:DATE\nBODY.
sub signed {
  my ($m, $method, $target, $body, %o) = @_;
  my $date = $o{date} // chaton_date();
  my $sig  = encode_base64(hmac_sha256("$method:$target:$date\n$body", $m->{key_b}), '');
  $sig = ($sig =~ /^A/ ? 'B' : 'A') . substr($sig, 1) if $o{bad_sig};
  my %h = (
    Date               => $date,
    'Client-time-zone' => '-04:00',
    Authorization      => 'Bearer ' . encode_base64($m->{key_a}, '') . ".$sig",
    'User-Agent'       => $o{ua} // $m->{ua},
    'Accept-Language'  => 'en-US',
    'X-Cl-Options'     => 'hb',
  );
  $h{'Content-Type'} = $o{ctype} // 'application/json; charset=UTF-8' if $method eq 'POST';
  delete $h{$_} for @{$o{without} // []};
  return \%h;
}

my $UA = Mojo::UserAgent->new(inactivity_timeout => 20, request_timeout => 30);
$UA->transactor->compressed(0);    # no Accept-Encoding: gzip, like the gateway

sub api {    # signed request; returns the transaction
  my ($m, $method, $target, $body, %o) = @_;
  $body //= '';
  my $h = signed($m, $method, $target, ($o{sign_body} // $body), %o);
  return $UA->start($UA->build_tx($method => "$m->{base}$target" => $h => $body));
}
sub chat_body { encode_json({model => 'gpt-4o', source => 'chat/free', max_tokens => 8000, function_web_search => false,
  function_image_gen => false, function_code_interpreter => false, web_search_engine => 'auto', @_}) }
sub ctl_get  { my ($m, $p) = @_; $UA->get("$m->{base}$p")->result }
sub knobs    { my ($m, @k) = @_; my $r = $UA->post("$m->{base}/__mock/knobs" => json => \@k)->result; die $r->body unless $r->is_success }
sub reset_mock { my $m = shift; $UA->post("$m->{base}/__mock/reset") }
sub records  { my ($m, $q) = @_; ctl_get($m, '/__mock/requests' . ($q // ''))->json }
sub last_rec { my $m = shift; records($m)->[-1] }

# A signed request over a plain socket; the raw response, read to EOF.
sub raw_http {
  my ($m, $method, $target, $body) = @_;
  my ($port) = $m->{base} =~ /:(\d+)\z/;
  my $h    = signed($m, $method, $target, $body);
  my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10) or die "connect: $!";
  binmode $sock;
  print $sock "$method $target HTTP/1.1\x0d\x0aHost: 127.0.0.1\x0d\x0aConnection: close\x0d\x0a"
    . join('', map {"$_: $h->{$_}\x0d\x0a"} sort keys %$h) . 'Content-Length: ' . length($body) . "\x0d\x0a\x0d\x0a$body";
  local $/;
  my $raw = <$sock>;
  return $raw;
}
sub dechunk {    # body of a chunked response, complete or not
  my $raw = shift;
  my ($rest) = $raw =~ /\x0d\x0a\x0d\x0a(.*)\z/s;
  my $out = '';
  while ($rest =~ s/^([0-9a-fA-F]+)\x0d\x0a//) {
    my $n = hex $1;
    last unless $n;
    $out .= substr($rest, 0, $n, '');
    $rest =~ s/^\x0d\x0a//;
  }
  return $out;
}

# SSE payloads of a body (both line endings), and the text the deltas carry.
sub sse_payloads {
  my $body = shift;
  return map { /^data: ?(.*)\z/s ? $1 : () } split /\x0d?\x0a/, $body;
}
sub deltas_text {
  my ($field, @p) = @_;
  my $t = '';
  for (@p) {
    next if $_ eq '[DONE]';
    my $j = decode_json($_);
    if (ref $j->{choices} eq 'ARRAY') { my $v = $j->{choices}[0]{delta}{$field}; $t .= $v if defined $v }
    elsif ($field eq 'content' && ref $j->{data} eq 'HASH' && defined $j->{data}{content_delta}) { $t .= $j->{data}{content_delta} }
  }
  return $t;
}

my $t0 = Time::HiRes::time();
my $m  = start_mock();

is ctl_get($m, '/__mock/health')->body, 'ok', 'health';

subtest 'good signature: full stream' => sub {
  my $body = chat_body(messages => [{role => 'system', content => 'Be brief.'}, {role => 'user', content => "hello \x{e9}t\x{e9} \x{1F600}"}]);
  my $tx   = api($m, POST => '/chats/stream', $body);
  my $res  = $tx->result;
  is $res->code, 200, 'status 200';
  like $res->headers->content_type, qr{^text/event-stream}, 'event stream';
  my @p = sse_payloads($res->body);
  is $p[-1], '[DONE]', 'ends with [DONE]';
  my $text = deltas_text(content => @p);
  my $rec  = last_rec($m);
  ok $rec->{sig_ok}, 'recorded sig_ok';
  is $rec->{path}, '/chats/stream', 'recorded raw path';
  is $rec->{status}, 200, 'recorded status';
  is $rec->{sent}{content}, $text, 'deltas concatenate to the recorded content';
  like $text, qr/^You said: hello \x{e9}t\x{e9} \x{1F600}\./, 'reply echoes the last user message';
  like $text, qr/\x{4e2d}\x{6587}.*\x{1F44D}\x{1F3FD}.*\\slash.*\x{2028}/s, 'reply has multi-byte text, backslashes, U+2028';
  like $res->body, qr/\\u[dD]83[dD]\\u[dD][eE]00/, 'an emoji is sent as a surrogate pair escape';
  like $res->body, qr/\xF0\x9F\x98\x80/, 'and raw once';
  is decode_base64($rec->{sent}{raw_b64}), $res->body, 'recorded raw bytes are what arrived';
  ok $rec->{sent}{writes} > 3, "sent in several writes ($rec->{sent}{writes})";
  is $rec->{sent}{events} + 1, scalar(@p), 'recorded event count';
  ok $rec->{sent}{done}, 'recorded done';
  isnt decode_json($p[-2] =~ /"model"/ ? $p[-2] : (grep {/"model"/} @p)[0])->{model}, 'gpt-4o', 'backend model name is versioned';
  is_deeply $rec->{warnings}, [], 'no warnings';

  # Deterministic per request: same bytes and same writes, but for the clock.
  my $again = api($m, POST => '/chats/stream', $body)->result->body;
  s/"(created|ping)":\d+/"$1":0/g for my ($x, $y) = ($again, $res->body);
  is $x, $y, 'same request, same bytes (deterministic)';
  is last_rec($m)->{sent}{writes}, $rec->{sent}{writes}, 'and same writes';
};

subtest 'reasoning model' => sub {
  my $res = api($m, POST => '/chats/stream', chat_body(model => 'deepseek-r1', messages => [{role => 'user', content => 'why?'}]))->result;
  my @p   = sse_payloads($res->body);
  my $rec = last_rec($m);
  ok length deltas_text(reasoning_content => @p), 'reasoning deltas';
  is deltas_text(reasoning_content => @p), $rec->{sent}{reasoning}, 'recorded reasoning';
  is deltas_text(content => @p), $rec->{sent}{content}, 'recorded content';
};

subtest 'rejections' => sub {
  my $body = chat_body(messages => [{role => 'user', content => 'hi'}]);
  my $res  = api($m, POST => '/chats/stream', $body, bad_sig => 1)->result;
  is $res->code, 401, 'bad signature -> 401';
  is $res->json->{error}, 'bad signature', 'reason';
  ok !last_rec($m)->{sig_ok}, 'recorded sig_ok false';
  $res = api($m, POST => '/chats/stream', $body, date => chaton_date(time - 3600))->result;
  is $res->code, 401, 'stale date -> 401';
  like $res->json->{error}, qr/stale Date/, 'reason';
  $res = api($m, POST => '/chats/stream', $body, ua => 'curl/8')->result;
  is $res->code, 401, 'wrong user agent -> 401';
  $res = api($m, POST => '/chats/stream', $body, sign_body => "$body ")->result;
  is $res->code, 401, 'signature over other bytes -> 401';
  $res = api($m, POST => '/chats/stream', $body, without => ['X-Cl-Options'])->result;
  is $res->code, 400, 'missing X-Cl-Options -> 400';
  $res = api($m, POST => '/chats/stream', $body, ctype => 'application/json')->result;
  is $res->code, 400, 'wrong Content-Type -> 400';
  $res = api($m, POST => '/chats/stream', chat_body(model => 'gpt-5', messages => [{role => 'user', content => 'x'}]))->result;
  is $res->code, 400, 'unknown model -> 400';
  like $res->json->{error}, qr/unknown model/, 'reason';
  $res = api($m, POST => '/chats/stream', chat_body(messages => [{role => 'user', content => 'x', name => 'bob'}]))->result;
  is $res->code, 400, 'unknown message key -> 400';
  unlike encode_json(records($m)), qr/demo-key-b/, 'secret never recorded';
};

subtest 'urls: raw base64 path with + and /' => sub {
  my $url = "https://example.com/?q=a>>>???\x{e9}";    # ">>>" -> "Pj4+", "???" -> "Pz8/"
  my $b64 = encode_base64(encode_utf8($url), '');
  ok $b64 =~ m{\+} && $b64 =~ m{/}, "path has + and / ($b64)";
  my $res = api($m, GET => "/urls/$b64")->result;
  is $res->code, 200, 'signed and verified byte-exact';
  my @p   = sse_payloads($res->body);
  my $rec = last_rec($m);
  is $rec->{path}, "/urls/$b64", 'raw path recorded';
  is $rec->{url}{url}, $url, 'decoded url recorded';
  is $p[-1], '[DONE]', '[DONE]';
  my $text = deltas_text(content => @p);
  is $text, $rec->{sent}{content}, 'content deltas recorded';
  like $text, qr/^Page text of \Q$url\E:/, 'page text names the url';
};

subtest 'upload, storage and files' => sub {
  my $png   = "\x89PNG\x0d\x0a\x1a\x0a" . join('', map { chr } 0 .. 255) . "\0\0\xff";
  my $bd    = 'MockTestBoundary7MA4YWxkTrZu0gW';
  my $ms    = int(Time::HiRes::time() * 1000);
  my $body  = "--$bd\x0d\x0aContent-Disposition: form-data; name=\"file\"; filename=\"$ms.png\"\x0d\x0a"
    . "Content-Type: image/png\x0d\x0a\x0d\x0a$png\x0d\x0a--$bd--\x0d\x0a";
  my $ct    = "multipart/form-data; boundary=$bd";
  my $res   = api($m, POST => '/storage/upload', $body, ctype => $ct, sign_body => '')->result;
  is $res->code, 200, 'upload signed over an empty body';
  my $url = $res->json->{getUrl};
  like $url, qr{^http://127\.0\.0\.1:\d+/files/up-\d+\.png\?.*X-Amz-Signature=}, 'getUrl';
  my $rec = last_rec($m);
  is $rec->{upload}{filename}, "$ms.png", 'filename recorded';
  is $rec->{upload}{content_type}, 'image/png', 'part type recorded';
  is $rec->{upload}{sha256}, sha256_hex($png), 'bytes recorded';
  is decode_base64($rec->{upload}{b64}), $png, 'bytes recorded (b64)';
  is_deeply $rec->{warnings}, [], 'no warnings';
  is api($m, POST => '/storage/upload', $body, ctype => $ct)->result->code, 401, 'signed over the body -> 401';
  my $got = $UA->get($url)->result;
  is $got->code, 200, 'files serves the upload';
  is $got->body, $png, 'same bytes';

  # Image generation -> spc.unk placeholder -> /storage/ -> /files/
  $res = api($m, POST => '/chats/stream', chat_body(source => 'chat/pro_image', function_image_gen => true,
    image_aspect_ratio => '16:9', messages => [{role => 'user', content => 'a red fox'}]))->result;
  my $text = deltas_text(content => sse_payloads($res->body));
  like $text, qr{!\[Image\]\(https://spc\.unk/(images/[0-9a-f]+\.png)\)}, 'markdown image placeholder';
  my ($path) = $text =~ m{https://spc\.unk/([^)]+)\)};
  my @marks = grep { /spc|Ima|unk/ } map { decode_json($_)->{choices}[0]{delta}{content} // () } grep { /choices/ } sse_payloads($res->body);
  ok @marks >= 2, 'placeholder split across deltas';
  $res = api($m, GET => "/storage/$path")->result;
  is $res->code, 200, 'storage resolves the path';
  my $get = $res->json->{getUrl};
  like $get, qr{/files/[0-9a-f]+\.png\?X-Amz-.*%2F.*X-Amz-Signature=[0-9a-f]{64}}, 'presigned getUrl';
  my $img = $UA->get($get)->result;
  is $img->code, 200, 'files: 200';
  like $img->body, qr/^\x89PNG\x0d\x0a\x1a\x0a\0\0\0\x0dIHDR\0\0\0\x40\0\0\0\x40/, 'a 64x64 PNG';
  my ($name) = $get =~ m{/files/([^?]+)};
  is ctl_get($m, "/__mock/files/$name")->body, $img->body, '/__mock/files gives the same bytes';
  is records($m, '?route=files')->[-1]{sent}{sha256}, sha256_hex($img->body), 'files recorded sha256';
  (my $altered = $get) =~ s/%2F/\//g;
  is $UA->get($altered)->result->code, 403, 'altered presigned query -> 403';
  is $UA->get($get => {Authorization => 'Bearer x'})->result->code, 400, 'ChatOn header sent to files -> 400';
  is $UA->get($get => {'User-Agent' => $m->{ua}})->result->code, 400, 'ChatOn User-Agent sent to files -> 400';
  is api($m, GET => '/storage/images/nope.png')->result->code, 404, 'unknown storage path -> 404';

  knobs($m, {route => 'files', big_image => true});
  $img = $UA->get($get)->result;
  ok length($img->body) >= 4 * 1024 * 1024, 'big_image: ' . length($img->body) . ' bytes';
  is records($m, '?route=files')->[-1]{sent}{sha256}, sha256_hex($img->body), 'big file recorded sha256';
};

subtest 'speech' => sub {
  my $res = api($m, POST => '/audio/speech', encode_json({input => 'Hello', model => 'tts-1', voice => 'alloy',
    response_format => 'mp3', speed => 1, stream => false}))->result;
  is $res->code, 200, 'status 200';
  is $res->headers->content_type, 'audio/mpeg', 'audio/mpeg';
  like $res->body, qr/^(ID3|\xFF[\xE0-\xFF])/, 'MP3 bytes';
  my $rec = last_rec($m);
  is $rec->{sent}{sha256}, sha256_hex($res->body), 'recorded sha256';
  ok $rec->{sent}{writes} > 1, 'several writes';
  is api($m, POST => '/audio/speech', encode_json({input => 'x', model => 'tts-2', voice => 'alloy'}))->result->code, 400, 'bad model -> 400';
};

subtest 'knobs' => sub {
  my $body = chat_body(messages => [{role => 'user', content => 'knobs'}]);
  knobs($m, {route => 'chats', status => 429, headers => {'Retry-After' => '7'}});
  my $res = api($m, POST => '/chats/stream', $body)->result;
  is $res->code, 429, 'status 429';
  is $res->headers->header('Retry-After'), '7', 'Retry-After';
  is last_rec($m)->{knob}{status}, 429, 'knob recorded';
  is api($m, POST => '/chats/stream', $body)->result->code, 200, 'times defaults to 1';

  knobs($m, {route => 'chats', drop_after_events => 4});
  my $raw = raw_http($m, POST => '/chats/stream', $body);
  like $raw, qr{^HTTP/1\.1 200 .*\x0d\x0aTransfer-Encoding: chunked\x0d\x0a}s, 'chunked 200';
  unlike $raw, qr{\x0d\x0a0\x0d\x0a\x0d\x0a\z}, 'connection closed without the last chunk';
  my @p = sse_payloads(dechunk($raw));
  is scalar(@p), 4, 'four events arrived';
  ok !grep({ $_ eq '[DONE]' } @p), 'no [DONE]';
  is last_rec($m)->{sent}{dropped}, 'after_events', 'recorded dropped';

  knobs($m, {route => 'chats', events => ['{"ping":1}', qq({"choices":[{"index":0,"delta":{"content":"A\x{e9}"}}]})], crlf => true, split => 'byte', delay_ms => 0});
  $res = api($m, POST => '/chats/stream', $body)->result;
  is $res->body, "data: {\"ping\":1}\x0d\x0a\x0d\x0adata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\xc3\xa9\"}}]}\x0d\x0a\x0d\x0adata: [DONE]\x0d\x0a\x0d\x0a", 'exact events, CRLF, [DONE]';
  my $rec = last_rec($m);
  is $rec->{sent}{content}, "A\x{e9}", 'custom events content recorded';
  is $rec->{sent}{writes}, length($res->body), 'one write per byte';

  knobs($m, {route => 'chats', text => 'short', role_delta => true, finish_chunk => true, gzip => true});
  $raw = raw_http($m, POST => '/chats/stream', $body);
  like $raw, qr{\x0d\x0aContent-Encoding: gzip\x0d\x0a}, 'gzip although not asked';
  @p = sse_payloads(Compress::Zlib::memGunzip(dechunk($raw)));
  is deltas_text(content => @p), 'short', 'custom text (decompressed)';
  like $p[3], qr/"role":"assistant"/, 'role delta';
  like $p[-3], qr/"finish_reason":"stop"/, 'finish chunk';

  my $h = signed($m, POST => '/chats/stream', $body);
  $res = $UA->post("$m->{base}/chats/stream" => {%$h, 'Accept-Encoding' => 'gzip'} => $body)->result;
  is $res->headers->content_encoding, 'gzip', 'gzip when asked';
  is Compress::Zlib::memGunzip($res->body), decode_base64(last_rec($m)->{sent}{raw_b64}), 'gzip of the recorded bytes';

  knobs($m, {route => 'chats', deltas => 3000, delay_ms => 0, max_event_bytes => 100000});
  $res = api($m, POST => '/chats/stream', $body)->result;
  @p = sse_payloads($res->body);
  is scalar(grep { /"content":"/ && !/"content":""/ } @p), 3001, 'deltas: 3000 (+ one big event)';
  ok grep({ length == 100000 } @p), 'one 100000-byte event';
  $rec = last_rec($m);
  is $rec->{sent}{content_sha256}, sha256_hex(encode_utf8(deltas_text(content => @p))), 'content sha256';

  knobs($m, {route => 'chats', stall_ms => 300});
  my $t = Time::HiRes::time();
  api($m, POST => '/chats/stream', $body)->result;
  ok Time::HiRes::time() - $t >= 0.3, 'stall_ms';

  knobs($m, {route => 'any', status => 503, times => 0});
  is api($m, GET => '/storage/whatever')->result->code, 503, 'sticky knob on any route';
  is api($m, POST => '/chats/stream', $body)->result->code, 503, 'sticky knob again';
  reset_mock($m);

  # "from": a knob for the requests from one address (one egress path);
  # every record says which address its request came from
  knobs($m, {route => 'chats', status => 429, from => '127.0.0.2', times => 0});
  is api($m, POST => '/chats/stream', $body)->result->code, 200, 'from: another address is not concerned';
  is last_rec($m)->{remote}, '127.0.0.1', 'from: the record has the source address';
  my $ua2 = Mojo::UserAgent->new(socket_options => {LocalAddr => '127.0.0.2'});
  $res = $ua2->post("$m->{base}/chats/stream" => signed($m, POST => '/chats/stream', $body) => $body)->result;
  is $res->code, 429, 'from: the knob answers requests from its address';
  is last_rec($m)->{remote}, '127.0.0.2', 'from: recorded as from that address';
  reset_mock($m);
  is scalar(@{records($m)}), 0, 'reset clears recordings';
  is api($m, POST => '/chats/stream', $body)->result->code, 200, 'reset clears knobs';
  is $UA->post("$m->{base}/__mock/knobs" => json => {route => 'chats', stal_ms => 1})->result->code, 400, 'unknown knob -> 400';
};

subtest 'concurrency' => sub {
  my $body = chat_body(messages => [{role => 'user', content => 'parallel'}]);
  reset_mock($m);
  my @p = map {
    my $h = signed($m, POST => '/chats/stream', $body);
    $UA->post_p("$m->{base}/chats/stream" => $h => $body);
  } 1 .. 20;
  my @codes;
  Mojo::Promise->all(@p)->then(sub { @codes = map { $_->[0]->res->code } @_ })->wait;
  is scalar(grep { $_ == 200 } @codes), 20, '20 parallel streams';
  my @r = @{records($m, '?route=chats')};
  my ($first_end) = sort { $a <=> $b } map { $_->{t_end} } @r;
  is scalar(grep { $_->{t} < $first_end } @r), 20, 'they overlapped';
};

subtest 'a model that calls tools' => sub {
  # The instructions as the core writes them (t/unit/test_tools.c keeps
  # these files equal to its output), with a nonce of this test's own.
  my $fixture = sub {
    my ($name, $nonce) = @_;
    open my $fh, '<:raw', "$ROOT/t/fixtures/tools/$name.txt" or die "$name: $!";
    local $/;
    (my $text = decode_utf8(<$fh>)) =~ s/abcd1234/$nonce/g;
    return $text;
  };
  my $n = 'k3j9x0ab';
  my ($open, $close) = ("<tool_call_$n>", "</tool_call_$n>");
  my $ask = sub {
    my ($system, @msgs) = @_;
    my @m = ((defined $system ? {role => 'system', content => $system} : ()), map { {role => 'user', content => $_} } @msgs);
    my $res = api($m, POST => '/chats/stream', chat_body(messages => \@m))->result;
    is $res->code, 200, 'status 200';
    my @p = sse_payloads($res->body);
    return (deltas_text(content => @p), last_rec($m), $res->body, @p);
  };
  my $auto = $fixture->('auto', $n);
  my $call = qq($open\{"name": "get_weather", "arguments": \{"city":"Paris"}}$close);

  my ($text, $rec, $raw, @p) = $ask->($auto, 'Weather? [[tool get_weather {"city":"Paris"}]]');
  is $text, $call, 'the call, in the answer format';
  is $rec->{sent}{tools}{nonce}, $n, 'the nonce read from the system text';
  is_deeply $rec->{sent}{tools}{offered}, ['get_weather', 'get_time'], 'the tools offered';
  is $rec->{sent}{tools}{choice}, 'auto', 'choice auto';
  ok $rec->{sent}{tools}{parallel}, 'several calls allowed';
  is $rec->{sent}{tools}{answer}, 'calls', 'answered with calls';
  is_deeply $rec->{sent}{tools}{calls}, [{name => 'get_weather', arguments => '{"city":"Paris"}', variant => ''}], 'the call recorded';
  is $rec->{sent}{content}, $text, 'recorded content';
  is_deeply $rec->{warnings}, [], 'no warnings';

  # deltas cut inside the tags, '<' and '>' sometimes as \u escapes
  my @d = map { decode_json($_)->{choices}[0]{delta}{content} // () } grep { /"choices"/ } @p;
  ok !grep({ index($_, $open) >= 0 || index($_, $close) >= 0 } @d), 'no delta holds a whole tag';
  ok grep({ /^<tool|^<\/tool|^<$|^<\/$/ } @d), 'a delta ends or starts inside a tag';
  like $raw, qr/\\u003[ce]/i, 'an angle bracket sent as a \\u escape';

  my %variant = (
    prose        => "Let me look that up.\n\n$call",
    fence        => "```json\n$call\n```",
    noclose      => qq($open\{"name": "get_weather", "arguments": \{"city":"Paris"}}),
    misspelled   => qq($open\{"name": "gt_weather", "arguments": \{"city":"Paris"}}$close),
    string       => qq($open\{"name": "get_weather", "arguments": "\{\\"city\\":\\"Paris\\"}"}$close),
    imagine      => "$call\nThe tool says it is sunny, 24 degrees.",
    bare         => q({"name": "get_weather", "arguments": {"city":"Paris"}}),
    example      => "Here is how a call looks:\n```\nexample()\n$call\n```",
    'prose-only' => q(I would call get_weather with {"city":"Paris"}, but I will answer directly: I cannot look that up.),
  );
  for my $v (sort keys %variant) {
    ($text, $rec) = $ask->($auto, qq([[tool-$v get_weather {"city":"Paris"}]]));
    is $text, $variant{$v}, "variant $v";
    is $rec->{sent}{tools}{calls}[0]{variant}, $v, "variant $v recorded";
  }

  ($text) = $ask->($auto, qq(Both: [[tool get_weather {"city":"Paris"}]] and [[tool get_time]]));
  is $text, qq($call\n$open\{"name": "get_time", "arguments": {}}$close), 'two calls, in order; no arguments: {}';

  ($text) = $ask->($auto, '[[tool get_weather {city: Paris}]]');
  is $text, qq($open\{"name": "get_weather", "arguments": {city: Paris}}$close), 'arguments as written, even bad JSON';

  # the results of earlier calls: prose that quotes them
  ($text, $rec) = $ask->($auto, '[[tool get_weather {"city":"Paris"}]]',
    qq(<tool_result_$n call_id="call_1" name="get_weather">\nSunny, 24\x{b0}C\n</tool_result_$n>\n\n)
      . qq(<tool_result_$n call_id="call_\\"2" name="get_time">\n12:00\nnoon\n</tool_result_$n>));
  is $text, "The tool said: Sunny, 24\x{b0}C\nThe tool said: 12:00\nnoon", 'tool results: prose quoting them';
  is $rec->{sent}{tools}{answer}, 'results', 'answered the results';
  is_deeply [map { $_->{call_id} } @{$rec->{sent}{tools}{results}}], ['call_1', 'call_\\"2'], 'the results recorded';

  # choices
  ($text, $rec) = $ask->($fixture->('required', $n), 'Anything.');
  is $text, qq($open\{"name": "get_weather", "arguments": {}}$close), 'required: calls the first tool';
  is $rec->{sent}{tools}{choice}, 'required', 'choice required';
  ($text, $rec) = $ask->($fixture->('function', $n), 'Anything.');
  is $text, qq($open\{"name": "get_time", "arguments": {}}$close), 'a named function: calls it';
  is $rec->{sent}{tools}{function}, 'get_time', 'the function recorded';
  ($text, $rec) = $ask->($fixture->('one', $n), '[[tool get_time]] [[tool get_time]]');
  ok !$rec->{sent}{tools}{parallel}, 'one call at most, recorded';
  is scalar(() = $text =~ /\Q$open\E/g), 2, 'yet two calls written (the gateway keeps one)';
  ($text, $rec) = $ask->($fixture->('none', $n), 'Weather? [[tool get_weather {"city":"Paris"}]]');
  is $text, 'No tool can be called now, so I answer in text.', 'none: no call';
  is $rec->{sent}{tools}{choice}, 'none', 'choice none';
  ($text) = $ask->($auto, 'Just chat.');
  like $text, qr/^You said: Just chat\./, 'auto, no marker: the usual answer';

  # no side channel: the nonce must be in the system text
  ($text, $rec) = $ask->(undef, "$open [[tool get_weather {\"city\":\"Paris\"}]]");
  like $text, qr/^You said: \Q$open\E \[\[tool get_weather/, 'no instructions, no call: the usual answer';
  is $rec->{sent}{tools}, undef, 'nothing offered recorded';
  ($text) = $ask->('Be brief.', '[[tool get_time]]');
  like $text, qr/^You said: \[\[tool get_time\]\]\./, 'a system text without tags: the usual answer';

  # the knob text with the request's nonce
  knobs($m, {route => 'chats', text => 'Raw {NONCE} answer'});
  ($text) = $ask->($auto, 'x');
  is $text, "Raw $n answer", 'knob text: {NONCE} is the nonce';

  ($text, $rec) = $ask->($auto, '[[tool-sideways get_time]]');
  is_deeply $rec->{warnings}, ['unknown tool variant "sideways"'], 'an unknown variant warns';
};

subtest 'binary keys via base64:' => sub {
  my ($ka, $kb) = ("id\0\xff\x01A", "sec\0ret\xfe\x00\x80");
  my $m2 = start_mock(key_a => $ka, key_b => $kb,
    key_a_arg => 'base64:' . encode_base64($ka, ''), key_b_arg => 'base64:' . encode_base64($kb, ''));
  my $body = chat_body(messages => [{role => 'user', content => 'binary'}]);
  is api($m2, POST => '/chats/stream', $body)->result->code, 200, 'NUL-containing keys sign and verify';
  my %plain = (%$m2, key_b => "sec");
  is api(\%plain, POST => '/chats/stream', $body)->result->code, 401, 'key B truncated at NUL -> 401';
};

my $elapsed = Time::HiRes::time() - $t0;
note sprintf 'elapsed %.1fs', $elapsed;
done_testing;
