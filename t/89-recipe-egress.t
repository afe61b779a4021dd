#!/usr/bin/env perl
# Egress through several paths (conf.d/egress.conf.template): ChatOn's calls
# leave through local forwarders, the servers of the chaton_api upstream,
# with TLS from nginx to the backend end to end through the tunnel.
#
#   - HTTP CONNECT: two tinyproxy on loopback ports, leaving from 127.0.0.2
#     and 127.0.0.3 (their Bind option), the first wanting credentials;
#     one forwarder each (scripts/chaton-egress, started by the ExecStart
#     line of conf.d/chaton-egress@.service with an environment file);
#   - SOCKS5: a microsocks leaving from 127.0.0.4, with credentials;
#   - source addresses: stream {} servers of the same nginx with
#     proxy_bind 127.0.0.5 and 127.0.0.6 (conf.d/egress-bind.conf.template).
#
# The mock, served over TLS with a certificate for mock.test from a CA made
# here, records the address each call came from: its egress path.  Calls
# take the paths in turn; a path answered 429 is left for the next one
# (the client gets that one's answer, byte for byte) and then rests for
# fail_timeout; a proxy that is down, refuses the tunnel or never answers
# costs the call nothing but a log line.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

use ChatonTest;
use ChatonTLS;

my $ROOT = $ChatonTest::ROOT;
my $TEMPLATE = "$ROOT/conf.d/egress.conf.template";
my $UNIT = "$ROOT/conf.d/chaton-egress\@.service";

my $aux = tempdir('chaton-recipe-egress-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{TEST_NGINX_LEAVE});

# processes started here: proxies and forwarders
our %PIDS;
END { local $?; stop($_) for keys %PIDS }

sub spawn {
    my ($name, $env, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0);    # stopped with the tunnels it started
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$aux/$name.out";
        open STDERR, '>&', \*STDOUT;
        @ENV{ keys %$env } = values %$env;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    $PIDS{$name} = $pid;
}

sub stop {
    my ($name) = @_;
    my $pid = delete $PIDS{$name} or return;
    kill 'TERM', -$pid;
    waitpid $pid, 0;
}

sub listening {
    my ($port) = @_;
    for (1 .. 100) {
        return 1 if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port);
        sleep 0.05;
    }
    die "nothing listens on $port\n";
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

# the backend: the mock over TLS, as mock.test

my ($ca, $ca_key) = ChatonTLS::make_ca($aux, 'ca');
my ($crt, $key) = ChatonTLS::make_cert($aux, 'mock', $ca, $ca_key,
                                       'DNS:mock.test');
my $mock = ChatonTest->new(
    no_start => 1, mock_args => ['--tls-cert', $crt, '--tls-key', $key]);
my ($mock_port) = $mock->mock_base =~ /:(\d+)$/;
my $TARGET = "127.0.0.1:$mock_port";

# the proxies, each leaving from its own address

sub tinyproxy {
    my ($name, $bind, $auth) = @_;
    my $port = ChatonTest::free_port();
    open my $fh, '>', "$aux/$name.conf" or die $!;
    print $fh "Port $port\nListen 127.0.0.1\nBind $bind\nTimeout 60\n"
              . "LogFile \"$aux/$name.log\"\nLogLevel Connect\nMaxClients 64\n"
              . ($auth ? "BasicAuth $auth\n" : '');
    close $fh;
    spawn($name, {}, 'tinyproxy', '-d', '-c', "$aux/$name.conf");
    listening($port);
    return $port;
}

my $proxy_a = tinyproxy('proxy-a', '127.0.0.2', 'alice s3cret-a');
my $proxy_b = tinyproxy('proxy-b', '127.0.0.3');

my $socks = ChatonTest::free_port();
spawn('socks', {}, 'microsocks', '-i', '127.0.0.1', '-p', $socks,
      '-b', '127.0.0.4', '-u', 'bob', '-P', 's3cret-s');
listening($socks);

# the forwarders, as systemd starts them: the unit's ExecStart line with
# the instance's environment file (each ${NAME} one argument), the script
# from this tree in place of /usr/local/bin/chaton-egress

my ($EXEC) = slurp($UNIT) =~ /^ExecStart=(.+)$/m;
my ($ENVFILE) = slurp($UNIT) =~ /^EnvironmentFile=(.+)$/m;
ok($EXEC && $ENVFILE, 'the unit has ExecStart and EnvironmentFile');

sub forwarder {
    my ($name, $proxy, $auth) = @_;
    my $port = ChatonTest::free_port();
    my %env = (CHATON_EGRESS_LISTEN => "127.0.0.1:$port",
               CHATON_EGRESS_PROXY  => $proxy,
               CHATON_EGRESS_TARGET => $TARGET,
               $auth ? (NCAT_PROXY_AUTH => $auth) : ());
    open my $fh, '>', "$aux/$name.env" or die $!;
    print $fh map { "$_=$env{$_}\n" } sort keys %env;
    close $fh;
    my @argv = map { s/\$\{(\w+)\}/$env{$1} \/\/ die "no $1\n"/ger }
               split ' ', $EXEC;
    $argv[0] =~ s{^/usr/local/bin/}{$ROOT/scripts/};
    spawn($name, \%env, @argv);
    listening($port);
    return "127.0.0.1:$port";
}

my $fwd_a = forwarder('forward-a', "http://127.0.0.1:$proxy_a",
                      'alice:s3cret-a');
my $fwd_b = forwarder('forward-b', "http://127.0.0.1:$proxy_b");
my $fwd_s = forwarder('forward-s', "socks5://127.0.0.1:$socks", 'bob:s3cret-s');

# systemd finds nothing to object to in the unit (under a root of its own,
# where /usr/local/bin/chaton-egress is the script)

my $root = "$aux/root";
make_path("$root/usr/local/bin", "$root/etc/systemd/system");
system('cp', "$ROOT/scripts/chaton-egress", "$root/usr/local/bin/") == 0 or die;
system('cp', $UNIT, "$root/etc/systemd/system/") == 0 or die;
my @verify = ('systemd-analyze', 'verify', "--root=$root", '--man=no',
              '--recursive-errors=no', 'chaton-egress@a.service');
my $verify = `@verify 2>&1`;
is($? >> 8, 0, 'systemd-analyze verify: the unit is valid') or diag($verify);
is($verify, '', 'systemd-analyze verify: no warning');

# the gateways

sub gateway {
    my ($one, $two, %o) = @_;
    return ChatonTest->new(
        template => $TEMPLATE, no_mock => 1, %o,
        env      => { CHATON_EGRESS_1      => $one,
                      CHATON_EGRESS_2      => $two,
                      CHATON_UPSTREAM_HOST => 'mock.test',
                      CHATON_UPSTREAM_CA   => $ca,
                      %{ $o{env} // {} } });
}

# the mock's knobs: those given (each 429 for one path), then short
# answers for the rest (the default answer is long; the splits stay
# random, UTF-8 included)
sub knobs {
    my (@paths_429) = @_;
    $mock->mock_reset;
    $mock->mock_knob((map { { route => 'chats', status => 429, from => $_,
                              times => 0 } } @paths_429),
                     { route => 'chats', times => 0, delay_ms => 1,
                       text => "égress ✓ 你好, through the tunnel; "
                               x 3 });
}

# One call, whole when $i is odd, else streamed, with a message naming
# it: the client must get the content of the backend's last answer to it,
# byte for byte.  Returns the path each attempt took: [address, status].
sub call {
    my ($gw, $what, $i) = @_;
    my $msg = "$what $i";
    my @messages = ({ role => 'user', content => $msg });
    my ($status, $text, $done);

    if ($i % 2) {
        my $res = $gw->chat(messages => \@messages);
        ($status, $done) = ($res->code, 1);
        $text = eval { $res->json->{choices}[0]{message}{content} };
    } else {
        my $s = $gw->chat_stream(messages => \@messages);
        $status = $s->{status};
        $text = ChatonTest::stream_text($s->{events});
        $done = @{ $s->{events} } && $s->{events}[-1]{data} eq '[DONE]';
    }

    my @recs;
    for (1 .. 200) {
        @recs = grep { ($_->{json}{messages}[0]{content} // '') eq $msg }
                @{ $mock->mock_requests('chats') };
        last if @recs && defined $recs[-1]{t_end};
        sleep 0.05;
    }
    my $name = "$what, " . ($i % 2 ? 'whole' : 'streamed') . " call $i";
    is($status, 200, "$name: 200");
    ok($done, "$name: complete");
    ok(@recs && !(grep { !$_->{sig_ok} } @recs),
       "$name: signed, every attempt");
    ChatonTest::is_sent_content($recs[-1] // { sent => {} }, $text // '',
        "$name: the content the backend sent on the last path, byte for byte");
    return [ map { [ $_->{remote}, $_->{status} ] } @recs ];
}

# What every kind of path goes through, with a gateway of two paths that
# leave from $one and $two: the calls take them in turn; then $one is
# answered 429: the next call tries it, then $two answers; the one after
# goes straight to $two ($one rests for fail_timeout).  Calls are numbered
# from $i (odd: whole, even: streamed).
sub two_paths {
    my ($gw, $what, $one, $two, $i) = @_;
    knobs();
    is_deeply(call($gw, $what, $i), [[$one, 200]],
              "$what: a call through $one");
    is_deeply(call($gw, $what, $i + 1), [[$two, 200]],
              "$what: the next through $two");
    knobs($one);
    is_deeply(call($gw, $what, $i + 2), [[$one, 429], [$two, 200]],
              "$what: $one answered 429, then $two answered");
    is_deeply(call($gw, $what, $i + 3), [[$two, 200]],
              "$what: the next call straight through $two ($one rests)");
    like($gw->error_log, qr/upstream server temporarily disabled/,
         "$what: the error log says $one was taken out");
}

# HTTP CONNECT: tinyproxy A and B (the 429 moves a stream)

my $g = gateway($fwd_a, $fwd_b);
two_paths($g, 'connect', '127.0.0.2', '127.0.0.3', 2);
for my $p (['proxy-a', $proxy_a], ['proxy-b', $proxy_b]) {
    my $log = slurp("$aux/$p->[0].log");
    like($log, qr/Request \(file descriptor \d+\): CONNECT \Q$TARGET\E HTTP/,
         "$p->[0]: a CONNECT tunnel to the backend");
    unlike($log, qr/Request \(file descriptor \d+\): (?!CONNECT)/,
           "$p->[0]: nothing but tunnels (TLS inside, end to end)");
}
$g->finish;

# SOCKS5 and HTTP CONNECT (the 429 moves a whole answer)

my $s = gateway($fwd_s, $fwd_b);
two_paths($s, 'socks5', '127.0.0.4', '127.0.0.3', 1);
$s->finish;

# a proxy that refuses the tunnel (no credentials: 407), and one that
# never answers (past proxy_connect_timeout, 1s here): the call goes
# through B, and nginx and the forwarder say why

my $fwd_n = forwarder('forward-noauth', "http://127.0.0.1:$proxy_a");
my $hang = ChatonTest::free_port();
spawn('proxy-hang', {}, 'ncat', '--listen', '--keep-open', '--recv-only',
      '127.0.0.1', $hang);
listening($hang);
my $fwd_h = forwarder('forward-hang', "http://127.0.0.1:$hang");

knobs();
my $n = gateway($fwd_n, $fwd_b);
is_deeply(call($n, 'no credentials', 1), [['127.0.0.3', 200]],
          'proxy A without credentials: the call answered through B');
like(slurp("$aux/forward-noauth.out"), qr/Proxy returned status code 407/,
     'proxy A without credentials: the forwarder says the proxy wants them');
like($n->error_log,
     qr/peer closed connection in SSL handshake while SSL handshaking/,
     'proxy A without credentials: nginx logs the failed tunnel');
$n->finish;

my $h = gateway($fwd_h, $fwd_b, backend => 'proxy_connect_timeout 1s;');
is_deeply(call($h, 'hanging proxy', 1), [['127.0.0.3', 200]],
          'a proxy that never answers: the call answered through B');
like($h->error_log, qr/upstream timed out .* while SSL handshaking to upstream/,
     'a proxy that never answers: a timeout of the TLS handshake');
$h->finish;

# proxy A down: its forwarder's tunnel fails, the call goes through B

stop('proxy-a');
knobs();
$g->start_nginx;
my $mark = length $g->error_log;
is_deeply(call($g, 'a down', 1), [['127.0.0.3', 200]],
          'proxy A down: call 1 answered through B');
is_deeply(call($g, 'a down', 2), [['127.0.0.3', 200]],
          'proxy A down: call 2 through B');
like(slurp("$aux/forward-a.out"), qr/Connection refused/,
     'proxy A down: its forwarder says so');
like(substr($g->error_log, $mark),
     qr/peer closed connection in SSL handshake while SSL handshaking/,
     'proxy A down: nginx logs the failed tunnel');
like(substr($g->error_log, $mark),
     qr/upstream server temporarily disabled while SSL handshaking/,
     'proxy A down: and takes that path out');
$g->finish;

# source addresses: stream {} forwarders in the same nginx, proxy_bind

my ($bind_1, $bind_2) = map { '127.0.0.1:' . ChatonTest::free_port() } 1 .. 2;
{
    local %ENV = (%ENV, CHATON_EGRESS_1 => $bind_1, CHATON_EGRESS_2 => $bind_2,
                  CHATON_EGRESS_BIND_1 => '127.0.0.5',
                  CHATON_EGRESS_BIND_2 => '127.0.0.6',
                  CHATON_EGRESS_TARGET => $TARGET);
    my $template = "$ROOT/conf.d/egress-bind.conf.template";
    my $conf = `'$ROOT/scripts/chaton-conf' '$template'`;
    die "chaton-conf failed\n" if $?;
    open my $fh, '>', "$aux/egress-bind.conf" or die $!;
    print $fh $conf;
    close $fh;
}
my $bg = gateway($bind_1, $bind_2,
    env  => { CHATON_AT_MODULES =>
              'load_module /usr/lib/nginx/modules/ngx_stream_module.so;' },
    main => "include $aux/egress-bind.conf;");
two_paths($bg, 'proxy_bind', '127.0.0.5', '127.0.0.6', 2);
$bg->finish;

$mock->stop_mock;
done_testing;
