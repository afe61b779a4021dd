#!/usr/bin/env perl
# Secrets never reach a log or a response, even at debug level: not key B,
# not base64(key A), not the signed Authorization values.  The client's own
# Authorization never reaches the backend.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use Mojo::JSON qw(true);

use ChatonTest;

my $key_a = 'key-a-' . join '', map { chr(97 + int rand 26) } 1 .. 20;
my $key_b = 'key-b-' . join '', map { chr(97 + int rand 26) } 1 .. 20;

my $t = ChatonTest->new(key_a => $key_a, key_b => $key_b,
                        log_level => 'debug');

my @bodies;
my $client_key = 'sk-client-' . join '', map { chr(97 + int rand 26) } 1 .. 20;

push @bodies, $t->post('/v1/chat/completions',
    { model => 'gpt-4o', messages => [{ role => 'user', content => 'hi' }] },
    Authorization => "Bearer $client_key")->body;
push @bodies, $t->chat_stream->{body};
$t->mock_knob({ route => 'chats', status => 401 });
push @bodies, $t->chat->body;
$t->mock_knob({ route => 'chats', drop_after_events => 4 });
push @bodies, $t->chat_stream->{body};
push @bodies, $t->get('/v1/models')->body;

my $recs = $t->mock_requests;
my @auth = map { $_->{headers}{authorization} } @$recs;
is(scalar(grep { defined } @auth), scalar @$recs, 'the backend got '
   . scalar(@$recs) . ' signed requests');
ok(!(grep { defined && /\Q$client_key\E/ } @auth),
   'the client\'s key never reached the backend');

my $logs = $t->error_log . $t->access_log;
like($logs, qr/\[debug\].*http upstream/, 'the error log is at debug level');

my %secrets = (
    'key B' => $key_b,
    'base64(key A)' => encode_base64($key_a, ''),
    'key A' => $key_a,
);
$secrets{"Authorization #$_"} = $auth[$_] for 0 .. $#auth;
($secrets{"signature #$_"}) = $auth[$_] =~ /\.(\S+)$/ for 0 .. $#auth;

for my $name (sort keys %secrets) {
    my $s = $secrets{$name};
    ok(index($logs, $s) < 0, "$name is not in the logs");
    ok(!(grep { index($_, $s) >= 0 } @bodies), "$name is not in a response");
}

$t->finish;

done_testing;
