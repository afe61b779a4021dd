#!/usr/bin/env perl
# Client API keys and rate limits per client: the recipe
# conf.d/clients-http.conf + conf.d/clients.conf, as an operator includes it.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::UserAgent;

use ChatonTest;

my %key = (alice => 'sk-alice-' . join('', map { chr(97 + int rand 26) } 1 .. 24),
           bob => 'sk-bob-' . join('', map { chr(97 + int rand 26) } 1 .. 24));

my $t = ChatonTest->new(
    no_start => 1,
    http => "include $ChatonTest::ROOT/conf.d/clients-http.conf;\n"
            . "log_format clients '\$chaton_client|\$status|\$request_uri';",
    server => 'access_log logs/clients.log clients;',
    api => "include $ChatonTest::ROOT/conf.d/clients.conf;");

sub write_keys {
    my (%k) = @_;
    open my $fh, '>', $t->dir . '/chaton.clients' or die $!;
    print $fh "# name key\n";
    print $fh "$_ $k{$_}\n" for sort keys %k;
    close $fh;
    chmod 0600, $t->dir . '/chaton.clients';
}

write_keys(%key);
$t->start_nginx;

*err = \&ChatonTest::is_openai_error;

sub auth { (Authorization => "Bearer $_[0]") }

# the key is required, and checked

err($t->post('/v1/chat/completions', { model => 'gpt-4o',
    messages => [{ role => 'user', content => 'hi' }] }),
    401, 'no key: 401', code => 'invalid_api_key');
err($t->post('/v1/chat/completions', { model => 'gpt-4o',
    messages => [{ role => 'user', content => 'hi' }] }, auth('sk-wrong')),
    401, 'a wrong key: 401', code => 'invalid_api_key');
err($t->post('/v1/chat/completions', { model => 'gpt-4o',
    messages => [{ role => 'user', content => 'hi' }] },
    auth(substr($key{alice}, 0, -1))),
    401, 'a key one character short: 401');
err($t->request(GET => '/v1/models', undef, auth($key{alice} . 'x')), 401,
    'a key one character long: 401');
is(scalar @{ $t->mock_requests('chats') }, 0,
   'nothing without a valid key reached the backend');

my $res = $t->post('/v1/chat/completions', { model => 'gpt-4o',
    messages => [{ role => 'user', content => 'hi' }] }, auth($key{alice}));
is($res->code, 200, 'alice\'s key: 200');
$res = $t->request(GET => '/v1/models', undef,
                   Authorization => "bearer $key{bob}");
is($res->code, 200, 'bob\'s key, "bearer" in lower case: 200');
my $s = $t->stream('/v1/chat/completions', { model => 'gpt-4o', stream => true,
    messages => [{ role => 'user', content => 'hi' }] },
    headers => { auth($key{bob}) });
is($s->{events}[-1]{data}, '[DONE]', 'bob streams');

$res = $t->request(OPTIONS => '/v1/chat/completions', undef,
    Origin => 'https://app.example', 'Access-Control-Request-Method' => 'POST');
is($res->code, 204, 'a preflight needs no key');

# the client's name for the logs

my $log = $t->slurp('logs/clients.log');
like($log, qr/^alice\|200\|\/v1\/chat\/completions$/m,
     '$chaton_client: alice in the access log');
like($log, qr/^bob\|200\|\/v1\/models$/m, '$chaton_client: bob');
like($log, qr/^-\|401\|/m, 'no client for a refused key');

# keys are never logged, nor answered

my $all = $t->error_log . $log;
ok(index($all, $key{$_}) < 0, "$_\'s key is in no log") for sort keys %key;

# requests per client: bursts of 20, then 429 as OpenAI JSON

my (%codes, $limited);
for (1 .. 30) {
    $res = $t->request(GET => '/v1/models', undef, auth($key{alice}));
    $codes{ $res->code }++;
    $limited //= $res if $res->code == 429;
}
ok($codes{429} && $codes{200} >= 20,
   "alice's burst: $codes{200} served, " . ($codes{429} // 0) . ' limited');
err($limited, 429, 'limited: an OpenAI 429', code => 'rate_limit_exceeded');
is($limited->headers->header('Retry-After'), '5',
   'limited: Retry-After from chaton_retry_after');
is($t->request(GET => '/v1/models', undef, auth($key{bob}))->code, 200,
   'bob is not limited by alice\'s burst');

# concurrent streams per client: four

$t->mock_knob({ route => 'chats', times => 6, split => 'event',
                event_interval_ms => 100 });
my $ua = Mojo::UserAgent->new(inactivity_timeout => 30);
my @status;
my $pending = 6;
for (1 .. 6) {
    $ua->post($t->url('/v1/chat/completions') => { auth($key{bob}) } => json =>
        { model => 'gpt-4o', stream => true,
          messages => [{ role => 'user', content => "s$_" }] } => sub {
            my (undef, $tx) = @_;
            push @status, [ $tx->res->code, $tx->res->body ];
            Mojo::IOLoop->stop unless --$pending;
        });
}
Mojo::IOLoop->start;
my @ok = grep { $_->[0] == 200 } @status;
my @no = grep { $_->[0] == 429 } @status;
is(scalar @ok, 4, 'six streams at once: four served');
is(scalar @no, 2, 'six streams at once: two refused');
like($no[0][1] // '', qr/"code":"rate_limit_exceeded"/,
     'the refused: OpenAI JSON');

# a reload rereads the keys

my $old_bob = $key{bob};
$key{bob} = 'sk-bob-new-' . join('', map { chr(97 + int rand 26) } 1 .. 24);
write_keys(%key);
$t->signal_nginx('HUP');

my $end = time + 10;
while (time < $end) {
    # a connection the old workers close during the reload has no code
    last if ($t->request(GET => '/v1/models', undef, auth($old_bob))->code
             // 0) == 401;
    sleep 0.1;
}
err($t->request(GET => '/v1/models', undef, auth($old_bob)), 401,
    'after a reload: the old key is refused');
is($t->request(GET => '/v1/models', undef, auth($key{bob}))->code, 200,
   'after a reload: the new key works');
is($t->request(GET => '/v1/models', undef, auth($key{alice}))->code, 200,
   'after a reload: alice unchanged');

$t->finish;

done_testing;
