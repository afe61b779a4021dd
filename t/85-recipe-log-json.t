#!/usr/bin/env perl
# The JSON access log (conf.d/log-json.conf): every API request writes one
# line that parses as JSON, with the module's variables: the model asked
# and the model sent (an alias resolved), stream 1/0, the backend's
# status, events, chunks, content bytes, time to first token for streams;
# what clients send (the User-Agent) escaped.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(encode_utf8);
use Mojo::JSON qw(decode_json);
use Time::HiRes qw(sleep);

use ChatonTest;

my $t = ChatonTest->new(
    http => "include $ChatonTest::ROOT/conf.d/log-json.conf;",
    api  => 'access_log logs/chaton.log chaton_json;');

# the log's lines, once there are $n (nginx writes a line when the
# request has ended, which may be just after the client has its answer)
sub log_lines {
    my ($n) = @_;
    my @lines;
    for (1 .. 100) {
        @lines = split /\n/, $t->slurp('logs/chaton.log');
        last if @lines >= $n;
        sleep 0.05;
    }
    return @lines;
}

sub parsed {
    my ($line, $name) = @_;
    my $j = eval { decode_json($line) };
    ok(ref $j eq 'HASH', "$name: the log line is a JSON object")
        or diag($line);
    return $j // {};
}

my $ua_string = qq{Client "quoted" \\back\\slash\ttab ünïcode};

# a whole answer, asked as an alias

my $res = $t->post('/v1/chat/completions',
    { model => 'claude-3.5-sonnet', messages => [{ role => 'user', content => 'hello' }] },
    'User-Agent' => encode_utf8($ua_string));
is($res->code, 200, 'whole: 200');
my $rec = $t->mock_wait('chats', 1)->[-1];
my @lines = log_lines(1);
is(scalar @lines, 1, 'whole: one line');
my $j = parsed($lines[0], 'whole');

is($j->{status}, 200, 'whole: status 200');
is($j->{uri}, '/v1/chat/completions', 'whole: uri');
is($j->{model}, 'claude-3.5-sonnet', 'whole: model as asked');
is($j->{backend_model}, 'claude-3-5-sonnet', 'whole: backend_model as sent');
is($rec->{json}{model}, 'claude-3-5-sonnet', 'whole: (the backend was sent that)');
is($j->{stream}, '0', 'whole: stream "0"');
is($j->{backend_status}, '200', 'whole: backend_status "200"');
like($j->{events}, qr/^[1-9]\d*$/, 'whole: events > 0');
is($j->{events}, $rec->{sent}{events} + ($rec->{sent}{done} ? 1 : 0),
   "whole: events, every event the backend sent ($rec->{sent}{events}) and its [DONE]");
is($j->{content_bytes}, length(encode_utf8($rec->{sent}{content})),
   'whole: content_bytes, the bytes of the content the backend sent');
like($j->{uploads}, qr/^0?$/, 'whole: no uploads');
is($j->{user_agent}, $ua_string, 'whole: the User-Agent, escaped and intact');
like($j->{request_id}, qr/^[0-9a-f]{32}$/, 'whole: request_id');
like($j->{request_time}, qr/^\d+(\.\d+)?$/, 'whole: request_time a number');

# a stream, asked as an alias

my $s = $t->chat_stream(model => 'claude-3.5-sonnet');
is($s->{status}, 200, 'stream: 200');
$rec = $t->mock_wait('chats', 2)->[-1];
my $chunks = grep { $_->{json} } @{ $s->{events} };
@lines = log_lines(2);
is(scalar @lines, 2, 'stream: one more line');
$j = parsed($lines[1], 'stream');

is($j->{status}, 200, 'stream: status 200');
is($j->{model}, 'claude-3.5-sonnet', 'stream: model as asked');
is($j->{backend_model}, 'claude-3-5-sonnet', 'stream: backend_model as sent');
is($j->{stream}, '1', 'stream: stream "1"');
is($j->{backend_status}, '200', 'stream: backend_status "200"');
like($j->{ttft_ms}, qr/^\d+$/, 'stream: ttft_ms, a number of milliseconds');
ok($j->{ttft_ms} =~ /^\d+$/ && $j->{ttft_ms} <= $j->{request_time} * 1000 + 1,
   'stream: ttft_ms within request_time');
like($j->{events}, qr/^[1-9]\d*$/, 'stream: events > 0');
is($j->{events}, $rec->{sent}{events} + ($rec->{sent}{done} ? 1 : 0),
   "stream: events, every event the backend sent ($rec->{sent}{events}) and its [DONE]");
like($j->{chunks}, qr/^[1-9]\d*$/, 'stream: chunks > 0');
is($j->{chunks}, $chunks, 'stream: chunks, the chunks the client got');
is($j->{content_bytes}, length(encode_utf8($rec->{sent}{content})),
   'stream: content_bytes, the bytes of the content the backend sent');

# an unknown model, and /v1/models: still one JSON line each

$res = $t->chat(model => 'no-such-"model"');
is($res->code, 404, 'unknown model: 404');
@lines = log_lines(3);
$j = parsed($lines[2], 'unknown model');
is($j->{status}, 404, 'unknown model: status 404');
is($j->{backend_status}, '', 'unknown model: no backend status (not called)');

$res = $t->get('/v1/models');
@lines = log_lines(4);
$j = parsed($lines[3], '/v1/models');
is($j->{status}, 200, '/v1/models: status 200');

is(scalar(log_lines(4)), 4, 'one line per request, no more');

$t->finish;
done_testing;
