# Token usage counted by the tokenizer (issue 15): with chaton_tokenizer,
# the usage a client gets is tiktoken's count (o200k_base, the npm
# package scripts/tokenizer pins) of what the backend was sent (every
# message as the gateway wrote it, tools' instructions included, with
# OpenAI's framing: 3 a message plus its role, 3 for the reply) and of what
# it answered (content and reasoning; the reasoning also as
# completion_tokens_details.reasoning_tokens): whole answers and streams
# with include_usage alike.  Without the directive the gateway says once
# that usage is estimated; a bad vocabulary is a configuration error.

use strict;
use warnings;

use Test::More;
use Mojo::JSON qw(encode_json true);

use ChatonTest;

my $root = $ChatonTest::ROOT;
my $ranks = "$root/build/tokenizer/o200k_base.tiktoken";
my $reference = "$root/build/tokenizer/npm/count.mjs";

ok(-s $ranks && -s $reference, 'the tokenizer is installed')
    or BAIL_OUT('run scripts/tokenizer/install');

# tiktoken's counts of texts
sub tiktoken {
    my @texts = @_;
    my $in = join '', map { encode_json($_) . "\n" } @texts;
    my $file = "$root/build/tokenizer/usage-texts.jsonl";
    open(my $fh, '>:raw', $file) or die "$file: $!";
    print $fh $in;
    close $fh;
    my @n = `node $reference < $file`;
    die "count.mjs failed" if $? || @n != @texts;
    chomp @n;
    return @n;
}

sub sum { my $s = 0; $s += $_ for @_; $s }

# what the backend was sent, as OpenAI frames chat messages
sub prompt_tokens {
    my ($rec) = @_;
    my @m = @{ $rec->{json}{messages} };
    return 3 + 3 * @m + sum(tiktoken(map { ($_->{role}, $_->{content}) } @m));
}

my $t = ChatonTest->new(http => "chaton_tokenizer $ranks;");

my $answer = "Sure! Here is code:\n\n```c\nint main(void) { return 0; }\n"
    . "```\n\x{4F60}\x{597D}\x{FF0C}\x{4E16}\x{754C} \x{1F600}\x{1F44D}\x{1F3FD}"
    . " it's   done.\n";
my $user = "Count me: caf\x{E9}, na\x{EF}ve, \x{65E5}\x{672C}\x{8A9E}, "
    . "\x{1F680} and 12345 things; don't stop!";

# a whole answer

$t->mock_knob({ route => 'chats', text => $answer });
my $res = $t->chat(messages => [
    { role => 'system', content => 'Be brief.' },
    { role => 'user', content => $user } ]);
is($res->code, 200, 'whole: 200');
my $u = $res->json->{usage};
my $rec = $t->mock_wait('chats', 1)->[-1];

is($u->{prompt_tokens}, prompt_tokens($rec),
   'whole: prompt_tokens are tiktoken\'s count of what the backend got');
is($u->{completion_tokens}, (tiktoken($answer))[0],
   'whole: completion_tokens are tiktoken\'s count of the answer');
is($u->{total_tokens}, $u->{prompt_tokens} + $u->{completion_tokens},
   'whole: total_tokens');
ok(!exists $u->{completion_tokens_details},
   'whole: no reasoning, no completion_tokens_details');

# a stream with include_usage, of a reasoning model: the mock cuts its
# deltas anywhere, inside grapheme clusters too

$t->mock_reset;
$t->mock_knob({ route => 'chats', text => $answer });
my $s = $t->chat_stream(model => 'o3-mini',
                        stream_options => { include_usage => true },
                        messages => [{ role => 'user', content => $user }]);
is($s->{status}, 200, 'stream: 200');
my ($last) = grep { $_->{json} && $_->{json}{usage} } @{ $s->{events} };
$rec = $t->mock_wait('chats', 1)->[-1];
my $reasoning = $rec->{sent}{reasoning};
ok(length $reasoning, 'stream: the model reasoned');
my ($nc, $nr) = tiktoken($rec->{sent}{content}, $reasoning);

$u = $last->{json}{usage};
is($u->{prompt_tokens}, prompt_tokens($rec), 'stream: prompt_tokens');
is($u->{completion_tokens}, $nc + $nr,
   'stream: completion_tokens count content and reasoning');
is($u->{completion_tokens_details}{reasoning_tokens}, $nr,
   'stream: reasoning_tokens are the reasoning\'s count');

# the tools' instructions are counted: they are what the backend got

$t->mock_reset;
$res = $t->chat(messages => [{ role => 'user', content => $user }],
                tools => [{ type => 'function', function => {
                    name => 'lookup', description => 'Looks a word up.',
                    parameters => { type => 'object', properties => {
                        word => { type => 'string' } } } } }]);
is($res->code, 200, 'tools: 200');
$rec = $t->mock_wait('chats', 1)->[-1];
like($rec->{json}{messages}[0]{content}, qr/lookup/,
     'tools: the backend got the instructions');
is($res->json->{usage}{prompt_tokens}, prompt_tokens($rec),
   'tools: prompt_tokens count the instructions');

unlike($t->error_log, qr/usage is estimated/,
       'with the directive, nothing is said about estimates');
$t->finish;

# without it: said once, at notice level

$t = ChatonTest->new(log_level => 'notice');
like($t->error_log, qr/\[notice\].*no "chaton_tokenizer".*usage is estimated/,
     'without the directive: the log says usage is estimated');
my @said = $t->error_log =~ /usage is estimated/g;
is(scalar @said, 1, 'said once');
$res = $t->chat;
ok($res->json->{usage}{completion_tokens} > 0, 'and usage is estimated');
$t->finish;

# a missing or bad vocabulary is a configuration error

$t = ChatonTest->new(http => "chaton_tokenizer /nonexistent/o200k.tiktoken;",
                     no_start => 1);
my ($rc, $out) = $t->conf_test;
isnt($rc, 0, 'a missing vocabulary: nginx -t fails');
like($out, qr/o200k\.tiktoken/, 'and names the file');

$t = ChatonTest->new(http => "chaton_tokenizer $root/README.md;",
                     no_start => 1);
($rc, $out) = $t->conf_test;
isnt($rc, 0, 'a file that is no vocabulary: nginx -t fails');
like($out, qr/README\.md.*the vocabulary has/,
     'and says why');

done_testing();
