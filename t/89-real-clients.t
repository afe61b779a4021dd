#!/usr/bin/env perl
# Real clients are the judges of compatibility: the official openai npm
# SDK, the Vercel AI SDK and LangChain.js (chat completions, and the
# openai SDK's and the AI SDK's default provider's Responses), Anthropic's
# @anthropic-ai/sdk and the AI SDK's @ai-sdk/anthropic (on /v1/messages),
# Claude Code (`claude -p`) and Codex CLI (`codex exec`, on /v1/responses),
# pinned in t/clients/package-lock.json, run their own requests against the
# gateway and the mock (the configuration `make run` uses).  Each script in
# t/clients prints a TAP line per check; each becomes one result here.  No
# node or no packages is a failure, not a skip: t/clients/install (npm ci)
# is part of the test.
#
# The tool-calling scripts (tools-*) run each client's own tool loop:
# openai's runTools(), the AI SDK's tools with steps, LangChain's
# bindTools.  burst.mjs streams bursts (the backend's deltas sent at once,
# so the gateway writes several reads' output together) through the
# openai SDK, the AI SDK and the Anthropic SDK, on each dialect.  CHATON_CLIENT_SCRIPTS="openai ..." runs only those named.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Test::More;

use ChatonTest;

my $DIR = "$ChatonTest::ROOT/t/clients";
my @SCRIPTS = split ' ', ($ENV{CHATON_CLIENT_SCRIPTS}
                          // 'openai ai-sdk langchain tools-openai '
                             . 'tools-ai-sdk tools-langchain anthropic '
                             . 'ai-sdk-anthropic claude-code '
                             . 'responses-openai responses-store codex '
                             . 'burst');
my $TIMEOUT = 60;

my $out = `"$DIR/install" 2>&1`;
is($?, 0, 'the pinned client packages are installed (t/clients/install)')
    or diag($out);

# debug_http: the burst's writes are read from the module's debug log
my $t = ChatonTest->new(log_level => 'debug_http');

$ENV{CHATON_BASE_URL} = $t->url('/v1');
$ENV{CHATON_MOCK_URL} = $t->mock_base;

# all scripts at once (their prompts differ), read one after the other

my @runs = map { start($_) } grep { $_ ne 'burst' } @SCRIPTS;
report($_) for @runs;

# then, on its own, burst.mjs: the mock sends each of its four streams'
# 2,000 deltas at once (the knob applies to whichever request comes next)

if (grep { $_ eq 'burst' } @SCRIPTS) {
    $t->mock_knob({ route => 'chats', deltas => 2000, split => 'none',
                    delay_ms => 0, times => 4 });
    my $from = length($t->error_log);
    report(start('burst'));
    my $kept = () = substr($t->error_log, $from) =~ /chaton output kept: /g;
    ok($kept > 0, "burst.mjs: the gateway wrote several reads' output "
       . "together ($kept kept for the next read's)");
}

$t->finish;
done_testing;


sub start {
    my ($name) = @_;
    my $file = "$DIR/$name.mjs";

    -f $file or die "no client script $file\n";

    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        { exec 'timeout', $TIMEOUT, 'node', $file }
        print "exec timeout: $!\n";
        POSIX::_exit(127);
    }

    return { name => $name, fh => $fh };
}

# "1..N", "ok - name", "not ok - name", "# why": one result per check,
# then one for the script itself (all N checks reported, exit status 0)

sub report {
    my ($run) = @_;
    my ($plan, $n, @other);
    my $fh = $run->{fh};

    while (my $line = <$fh>) {
        chomp $line;

        if ($line =~ /^1\.\.(\d+)\z/) {
            $plan = $1;

        } elsif ($line =~ /^(not )?ok - (.*)\z/) {
            $n++;
            ok(!$1, $2);

        } elsif ($line =~ /^# ?(.*)\z/s) {
            diag($1);

        } else {
            push @other, $line;
        }
    }

    close $fh;
    my $status = $?;

    ok($status == 0 && defined $plan && $plan > 0 && ($n // 0) == $plan,
       "$run->{name}.mjs ran to its end")
        or diag("exit status " . ($status >> 8) . ', signal ' . ($status & 127)
                . ", planned " . ($plan // 'nothing') . ', ran ' . ($n // 0)
                . join('', map { "\n$_" } @other));
}
