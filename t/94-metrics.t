#!/usr/bin/env perl
# Prometheus metrics (issue 15, conf.d/metrics.conf): after a known set of
# requests (a whole answer, a stream, an unknown model, a backend 429, the
# models list) the exposition at /metrics has the exact counts, the tokens
# the usage reported, the histograms' counts, no stream left open; and
# promtool accepts it; a real Prometheus server scraping it gives the
# count through PromQL.  Then a reload keeps the counters.
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

my $t = ChatonTest->new(
    http   => 'chaton_metrics_zone chaton_metrics 1m;',
    server => "include $ChatonTest::ROOT/conf.d/metrics.conf;");

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

my ($res, $m) = scrape();
like($res->headers->content_type, qr{^text/plain; version=0\.0\.4},
     'empty: the exposition format\'s type');
is($m->{chaton_streams_open}, 0, 'empty: no stream open');
ok(!grep(/^chaton_requests_total/, keys %$m), 'empty: no requests counted');

# the requests

$res = $t->chat;
is($res->code, 200, 'whole answer: 200');
my $u1 = $res->json->{usage};

my $s = $t->chat_stream(stream_options => { include_usage => true });
is($s->{status}, 200, 'stream: 200');
my ($last) = grep { $_->{json} && $_->{json}{usage} } @{ $s->{events} };
my $u2 = $last->{json}{usage};

is($t->chat(model => 'gpt-9')->code, 404, 'unknown model: 404');

$t->mock_knob({ route => 'chats', status => 429,
                headers => { 'Retry-After' => '7' } });
is($t->chat->code, 429, 'backend 429: 429');

is($t->get('/v1/models')->code, 200, 'models: 200');

($res, $m) = scrape();
my $body = $res->body;

my %want = (
    'chaton_requests_total{route="chat",model="gpt-4o",status="2xx"}' => 2,
    'chaton_requests_total{route="chat",model="gpt-4o",status="4xx"}' => 1,
    'chaton_requests_total{route="chat",model="other",status="4xx"}' => 1,
    'chaton_requests_total{route="models",model="other",status="2xx"}' => 1,
    'chaton_prompt_tokens_total{model="gpt-4o"}'
        => $u1->{prompt_tokens} + $u2->{prompt_tokens},
    'chaton_completion_tokens_total{model="gpt-4o"}'
        => $u1->{completion_tokens} + $u2->{completion_tokens},
    'chaton_time_to_first_token_seconds_count{model="gpt-4o"}' => 2,
    'chaton_request_duration_seconds_count{model="gpt-4o"}' => 3,
    'chaton_request_duration_seconds_count{model="other"}' => 2,
    'chaton_request_duration_seconds_bucket{model="other",le="+Inf"}' => 2,
    'chaton_streams_open' => 0,
    'chaton_tool_calls_total' => 0,
);

is($m->{$_}, $want{$_}, "counted: $_") for sort keys %want;

is(scalar(grep /^chaton_requests_total/, keys %$m), 4,
   'no other request series')
    or diag($body);
ok($u1->{completion_tokens} > 0 && $u2->{prompt_tokens} > 0,
   'the usage counted something');
like($body, qr/^# TYPE chaton_request_duration_seconds histogram$/m,
     'TYPE line of the histogram');
is($m->{'chaton_request_duration_seconds_bucket{model="gpt-4o",'
      . 'le="600.000"}'}, 3, 'the last bucket bound: 600 s');
unlike($body, qr/key_a|key_b|\Q$t->{key_b}\E/, 'no secret in the metrics');

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
    my $q = 'sum(chaton_requests_total{route="chat"})';
    my ($got, $up);
    for (1 .. 40) {
        my $r = eval {
            $ua->get("http://127.0.0.1:$port/api/v1/query"
                     => form => { query => $q })->result
        };
        if ($r && $r->is_success) {
            $up = 1;
            my $v = $r->json->{data}{result}[0]{value}[1];
            if (defined $v) { $got = $v; last }
        }
        sleep 0.25;
    }

    ok($up, 'prometheus: its API answered');
    is($got, 4, "prometheus: $q is 4")
        or diag($t->slurp('prometheus/log'));

    kill 'TERM', $pid;
    waitpid $pid, 0;
}

# the counters survive a reload (same zone, same models)

$t->signal_nginx('HUP');
sleep 1;
($res, $m) = scrape();
is($m->{'chaton_requests_total{route="chat",model="gpt-4o",status="2xx"}'},
   2, 'reload: counters kept');

done_testing;
