#!/usr/bin/env perl
# Prometheus metrics (issue 15, conf.d/metrics.conf): after a known set of
# requests (whole answers, a stream, a link, an image, an unknown model, a
# speech, an image generation, the models
# list, a body nginx refused, a 429 that proxy_next_upstream failed over,
# a 429 on every endpoint and credential set, a 401 that the next
# credential set answered), by three client keys (one whose name must be
# escaped) and none, the exposition at /metrics
# has the exact counts: requests by route, model and status class, tokens
# as the usage reported them, the histograms' counts, backend calls by kind
# and status, failovers, credential retries, requests and tokens by client
# name; no stream left open; promtool accepts it; a real Prometheus server
# scraping it gives the counts through PromQL.  Then a reload keeps the
# counters.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(true);
use File::Temp qw(tempfile);
use Mojo::UserAgent;
use Time::HiRes qw(sleep);

use ChatonTest;

# Two endpoints: A (the gateway's own mock), and B a backup that is tried
# when A fails (a 429 here); max_fails=0 keeps A in, so every call starts
# on A.  Two credential sets, and client keys with names.
my $ep_b = ChatonTest->new(no_start => 1);
my $t = ChatonTest->new(no_start => 1);
my $dir = $t->dir;

sub port_of { ($_[0]->mock_base =~ /:(\d+)$/)[0] }

open my $kf, '>', "$dir/clients" or die $!;
print $kf "alice sk-alice-0123\nbob sk-bob-4567\nc\"l\\i sk-carol-89ab\n";
close $kf;
chmod 0600, "$dir/clients";

$t->{o}{http} = join "\n",
    'chaton_metrics_zone chaton_metrics 1m;',
    'upstream metrics_api {',
    '    server 127.0.0.1:' . port_of($t) . ' max_fails=0;',
    '    server 127.0.0.1:' . port_of($ep_b) . ' backup;',
    '}';
$t->{o}{server} = join "\n",
    "include $ChatonTest::ROOT/conf.d/metrics.conf;",
    "chaton_client_keys $dir/clients;",
    'location /metrics-backend/ {',
    '    internal;',
    '    proxy_pass http://metrics_api/;',
    '    proxy_set_header Host 127.0.0.1;',
    "    include $ChatonTest::ROOT/conf.d/chaton-backend.conf;",
    '    proxy_next_upstream error timeout http_429 non_idempotent;',
    '}';
$t->{o}{api} = join "\n",
    'chaton_backend /metrics-backend/;',
    'client_max_body_size 1k;',
    map { 'chaton_credentials ' . $t->cred_file($_) . ';' } qw(first second);
$t->start_nginx;

# every request carries the key of $client
my $client = 'sk-alice-0123';
$t->ua->on(start => sub {
    my (undef, $tx) = @_;
    $tx->req->headers->authorization("Bearer $client") if defined $client;
});

# metric line "name{labels}" => value
sub scrape {
    my $res = $t->get('/metrics');
    is($res->code, 200, 'metrics: 200');
    my %m;
    for (split /\n/, $res->body) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return ($res, \%m);
}

sub chats { scalar @{ $_[0]->mock_requests('chats') } }

my ($res, $m) = scrape();
like($res->headers->content_type, qr{^text/plain; version=0\.0\.4},
     'empty: the exposition format\'s type');
is($m->{chaton_streams_open}, 0, 'empty: no stream open');
ok(!grep(/^chaton_(requests|backend|credential|client)/, keys %$m),
   'empty: nothing counted');

# the requests: alice's

$t->mock_knob({ route => 'chats', status => 429 });
$res = $t->chat;
is($res->code, 200, 'A answers 429: B answers, 200');
my $u1 = $res->json->{usage};
is(chats($t) . '/' . chats($ep_b), '1/1', 'A answers 429: A, then B');

my $s = $t->chat_stream(stream_options => { include_usage => true });
is($s->{status}, 200, 'stream: 200');
my ($last) = grep { $_->{json} && $_->{json}{usage} } @{ $s->{events} };
my $u2 = $last->{json}{usage};

$t->mock_knob({ route => 'chats', status => 401 });
$res = $t->chat;
is($res->code, 200, '401 to one credential set: the next one answers, 200');
my $u3 = $res->json->{usage};
my ($refused) = $t->error_log =~ /answered 401 to credential set "(\w+)"/;
ok($refused, "the set refused: $refused");

# a link (a crawl, then the chat) and an inline image (an upload, then the
# chat)
$res = $t->chat(messages => [{ role => 'user',
                               content => 'see https://example.com/x' }]);
is($res->code, 200, 'a link: 200');
my $u4 = $res->json->{usage};
my $png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9Q'
        . 'DwADhgGAWjR9awAAAABJRU5ErkJggg==';
$res = $t->chat(messages => [{ role => 'user', content => [
    { type => 'text', text => 'What is in this image?' },
    { type => 'image_url',
      image_url => { url => "data:image/png;base64,$png" } } ] }]);
is($res->code, 200, 'an image: 200');
my $u5 = $res->json->{usage};
is(scalar @{ $t->mock_requests('urls') } . '/'
   . scalar @{ $t->mock_requests('upload') }, '1/1', 'a crawl, an upload');

is($t->post('/v1/audio/speech', { model => 'tts-1', input => 'x' })->code,
   200, 'speech: 200');

# an image drawn (a chat), looked up (storage) and downloaded (fetch)
is($t->post('/v1/images/generations',
            { prompt => 'x', response_format => 'b64_json' })->code,
   200, 'an image: 200');
is($t->get('/v1/models')->code, 200, 'models: 200');
is($t->chat(messages => [{ role => 'user', content => 'x' x 2000 }])->code,
   413, 'a body over client_max_body_size: nginx\'s 413');

# bob's

$client = 'sk-bob-4567';
is($t->chat(model => 'gpt-9')->code, 404, 'unknown model: 404');

# 429 on both endpoints for both sets: 2 calls, each failed over once
$_->mock_knob({ route => 'chats', status => 429, times => 2,
                headers => { 'Retry-After' => '7' } }) for $t, $ep_b;
is($t->chat->code, 429, '429 everywhere: 429');
my ($limited) = $t->error_log =~ /answered 429 to credential set "(\w+)"/;
ok($limited, "the set limited first: $limited");

# a name the exposition must escape (c"l\i)
$client = 'sk-carol-89ab';
is($t->get('/v1/models')->code, 200, 'models, by c"l\\i: 200');

# no key: not a client's
$client = undef;
is($t->chat->code, 401, 'no key: 401');
$client = 'sk-alice-0123';

($res, $m) = scrape();
my $body = $res->body;

# alice's answers' usage
my %alice;
for my $u ($u1, $u2, $u3, $u4, $u5) {
    $alice{$_} += $u->{$_} for qw(prompt_tokens completion_tokens);
}

my %want = (
    'chaton_requests_total{route="chat",model="gpt-4o",status="2xx"}' => 5,
    'chaton_requests_total{route="chat",model="gpt-4o",status="4xx"}' => 1,
    'chaton_requests_total{route="chat",model="other",status="4xx"}' => 3,
    'chaton_requests_total{route="models",model="other",status="2xx"}' => 2,
    'chaton_requests_total{route="speech",model="other",status="2xx"}' => 1,
    'chaton_requests_total{route="images",model="gpt-4o",status="2xx"}' => 1,
    'chaton_prompt_tokens_total{model="gpt-4o"}' => $alice{prompt_tokens},
    'chaton_completion_tokens_total{model="gpt-4o"}'
        => $alice{completion_tokens},
    'chaton_time_to_first_token_seconds_count{model="gpt-4o"}' => 5,
    'chaton_request_duration_seconds_count{model="gpt-4o"}' => 7,
    'chaton_request_duration_seconds_count{model="other"}' => 6,
    'chaton_request_duration_seconds_bucket{model="other",le="+Inf"}' => 6,
    'chaton_streams_open' => 0,
    'chaton_tool_calls_total' => 0,
    'chaton_backend_calls_total{kind="chat",status="2xx"}' => 6,
    'chaton_backend_calls_total{kind="storage",status="2xx"}' => 1,
    'chaton_backend_calls_total{kind="fetch",status="2xx"}' => 1,
    'chaton_backend_calls_total{kind="crawl",status="2xx"}' => 1,
    'chaton_backend_calls_total{kind="upload",status="2xx"}' => 1,
    'chaton_backend_calls_total{kind="chat",status="4xx"}' => 3,
    'chaton_backend_calls_total{kind="speech",status="2xx"}' => 1,
    'chaton_backend_failovers_total{kind="chat"}' => 3,
    "chaton_credential_retries_total{credential=\"$refused\",status=\"401\"}"
        => 1,
    "chaton_credential_retries_total{credential=\"$limited\",status=\"429\"}"
        => 1,
    'chaton_client_requests_total{client="alice",status="2xx"}' => 8,
    'chaton_client_requests_total{client="alice",status="4xx"}' => 1,
    'chaton_client_requests_total{client="bob",status="4xx"}' => 2,
    'chaton_client_requests_total{client="c\\"l\\\\i",status="2xx"}' => 1,
    'chaton_client_prompt_tokens_total{client="alice"}'
        => $alice{prompt_tokens},
    'chaton_client_completion_tokens_total{client="alice"}'
        => $alice{completion_tokens},
);

is($m->{$_}, $want{$_}, "counted: $_") for sort keys %want;

for my $family (qw(chaton_requests_total chaton_backend_calls_total
                   chaton_backend_failovers_total
                   chaton_credential_retries_total
                   chaton_client_requests_total
                   chaton_client_prompt_tokens_total)) {
    is(scalar(grep { /^\Q$family\E\{/ && !exists $want{$_} } keys %$m), 0,
       "no other $family series") or diag($body);
}
is(chats($t) + chats($ep_b), 12,
   'the mocks saw the 12 chat calls counted');
ok($u1->{completion_tokens} > 0 && $u2->{prompt_tokens} > 0,
   'the usage counted something');
like($body, qr/^# TYPE chaton_request_duration_seconds histogram$/m,
     'TYPE line of the histogram');
like($body, qr/^# TYPE chaton_backend_failovers_total counter$/m,
     'TYPE line of the failovers');
is($m->{'chaton_request_duration_seconds_bucket{model="gpt-4o",'
      . 'le="600.000"}'}, 7, 'the last bucket bound: 600 s');
unlike($body, qr/key_a|key_b|\Q$t->{key_b}\E|sk-alice|sk-bob|sk-carol/,
       'no secret in the metrics');

# promtool accepts the exposition

{
    my ($fh, $file) = tempfile(DIR => $t->dir);
    print $fh $body;
    close $fh;
    my $out = `timeout 10 promtool check metrics < "$file" 2>&1`;
    is($?, 0, 'promtool check metrics accepts it') or diag($out);
}

# a real Prometheus server scrapes the gateway; PromQL gives the counts

{
    my $port = ChatonTest::free_port();
    my $dir = $t->dir . '/prometheus';
    mkdir $dir;
    open my $fh, '>', "$dir/prometheus.yml" or die $!;
    printf $fh <<'YML', $t->port;
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: chaton
    static_configs:
      - targets: ['127.0.0.1:%d']
YML
    close $fh;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/log";
        open STDERR, '>&', \*STDOUT;
        exec 'timeout', '30', 'prometheus',
            "--config.file=$dir/prometheus.yml",
            "--storage.tsdb.path=$dir/data",
            "--web.listen-address=127.0.0.1:$port"
            or die "exec prometheus: $!";
    }

    my $ua = Mojo::UserAgent->new(request_timeout => 2, connect_timeout => 1);
    my $query = sub {
        my $r = eval {
            $ua->get("http://127.0.0.1:$port/api/v1/query"
                     => form => { query => $_[0] })->result
        };
        return ($r && $r->is_success, $r && $r->is_success
                ? $r->json->{data}{result}[0]{value}[1] : undef);
    };

    # the first scrape holds every series: wait for it
    my %promql = (
        'sum(chaton_requests_total{route="chat"})' => 9,
        'sum(chaton_backend_calls_total{kind="chat"})' => 9,
        'sum(chaton_backend_calls_total)' => 14,
        'chaton_backend_failovers_total{kind="chat"}' => 3,
        'sum(chaton_credential_retries_total{status="429"})' => 1,
        'sum(chaton_credential_retries_total{status="401"})' => 1,
        'sum(chaton_client_requests_total{client="alice"})' => 9,
        'chaton_client_requests_total{client="bob",status="4xx"}' => 2,
    );
    my ($up, $v);
    for (1 .. 80) {
        ($up, $v) = $query->('sum(chaton_requests_total{route="chat"})');
        last if defined $v;
        sleep 0.25;
    }

    ok($up, 'prometheus: its API answered')
        or diag($t->slurp('prometheus/log'));
    for my $q (sort keys %promql) {
        is(($query->($q))[1], $promql{$q}, "prometheus: $q is $promql{$q}");
    }

    kill 'TERM', $pid;
    waitpid $pid, 0;
}

# the counters survive a reload (same zone, same models)

$t->signal_nginx('HUP');
sleep 1;
($res, $m) = scrape();
is($m->{'chaton_requests_total{route="chat",model="gpt-4o",status="2xx"}'},
   5, 'reload: counters kept');
is($m->{'chaton_client_requests_total{client="bob",status="4xx"}'}, 2,
   'reload: the clients\' counters kept');

$t->finish;
$ep_b->stop_mock;

done_testing;
