package ChatonTest;

# The integration tests' harness: each test file starts its own mock
# backend (scripts/mock-chaton) and its own Debian nginx with the built
# module, on free loopback ports, under a temporary prefix, with the
# configuration scripts/run would start (conf.d/chaton.conf.template, plus
# the directives a test adds), and stops them at the end.
#
#   my $t = ChatonTest->new(server => 'chaton_heartbeat 1s;');
#   my $res = $t->chat(messages => [...]);           # Mojo::Message::Response
#   my $s = $t->stream('/v1/chat/completions', {...});  # timed chunks, events
#   my $recs = $t->mock_requests('chats');
#   $t->finish;                # stops everything, checks the error log
#
# TEST_NGINX_LEAVE=1 keeps the prefix; TEST_NGINX_BINARY picks the nginx.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

use Encode ();
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::UserAgent;

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $NGINX = $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx';
our $MODULE = $ENV{CHATON_TEST_MODULE}
    // "$ROOT/build/ngx_http_chaton_module.so";

our $DEMO_UA = 'ChatOn_Android/1.66.536 (Linux; U; Android 13; demo) mock';


sub new {
    my ($class, %o) = @_;

    my $self = bless {
        o       => \%o,
        workers => $o{workers} // 1,
        key_a   => $o{key_a} // 'demo-key-a',
        key_b   => $o{key_b} // 'demo-key-b',
        ua_str  => $o{user_agent} // $DEMO_UA,
    }, $class;

    $self->{dir} = tempdir('chaton-test-XXXXXX', TMPDIR => 1,
                           CLEANUP => !$ENV{TEST_NGINX_LEAVE});
    chmod 0755, $self->{dir};
    make_path("$self->{dir}/logs", "$self->{dir}/tmp");

    $self->start_mock unless $o{no_mock};
    $self->start_nginx unless $o{no_start};

    return $self;
}

sub dir { $_[0]{dir} }
sub port { $_[0]{port} }
sub mock_base { $_[0]{mock_base} }

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub start_mock {
    my ($self, @args) = @_;

    my @cmd = ("$ROOT/scripts/mock-chaton", '--listen', '127.0.0.1:0',
               '--quiet', '--key-a', $self->{o}{mock_key_a} // $self->{key_a},
               '--key-b', $self->{o}{mock_key_b} // $self->{key_b},
               '--user-agent', $self->{o}{mock_user_agent} // $self->{ua_str},
               @{ $self->{o}{mock_args} // [] }, @args);

    my $pid = open(my $out, '-|') // die "fork: $!";

    if ($pid == 0) {
        open STDERR, '>>', "$self->{dir}/logs/mock.log";
        exec @cmd or die "exec mock: $!";
    }

    my $line;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 15;
        $line = <$out>;
        alarm 0;
    };

    croak "mock did not start: " . $self->slurp('logs/mock.log')
        unless defined $line && $line =~ m{listening on (https?)://([\d.]+):(\d+)};

    $self->{mock_pid} = $pid;
    $self->{mock_fh} = $out;
    $self->{mock_scheme} = $1;
    $self->{mock_port} = $3;
    $self->{mock_base} = "$1://$2:$3";

    return $self;
}

# the configuration: the template, filled in as scripts/run does

sub write_conf {
    my ($self) = @_;
    my $o = $self->{o};

    $self->{port} //= free_port();

    my $cred = $o->{credentials}
        // "key_a = $self->{key_a}\nkey_b = $self->{key_b}\n"
         . "user_agent = $self->{ua_str}\n";
    open my $fh, '>', "$self->{dir}/credentials" or die $!;
    print $fh $cred;
    close $fh;
    chmod 0600, "$self->{dir}/credentials";

    local %ENV = %ENV;
    $ENV{CHATON_MODULE} = $MODULE;
    $ENV{CHATON_PREFIX} = $self->{dir};
    $ENV{CHATON_WORKERS} = $self->{workers};
    $ENV{CHATON_ERROR_LOG} = "$self->{dir}/logs/error.log "
                             . ($o->{log_level} // 'info');
    $ENV{CHATON_LISTEN} = "127.0.0.1:$self->{port}";
    $ENV{CHATON_CREDENTIALS} = "$self->{dir}/credentials";
    $ENV{CHATON_TIME_ZONE} = $o->{time_zone} // '-04:00';
    $ENV{CHATON_UPSTREAM_SCHEME} = $self->{mock_scheme} // 'http';
    $ENV{CHATON_UPSTREAM_SERVER} = "127.0.0.1:"
                                   . ($self->{mock_port} // free_port());
    $ENV{CHATON_UPSTREAM_HOST} = '127.0.0.1';
    $ENV{CHATON_CONF_D} = "$ROOT/conf.d";
    $ENV{CHATON_RESOLVER} = '127.0.0.1';

    # env => {NAME => value}: a template's own placeholders, or overrides
    $ENV{$_} = $o->{env}{$_} for keys %{ $o->{env} // {} };

    for my $at (qw(main http server api backend)) {
        $ENV{"CHATON_AT_\U$at"} = $o->{$at} if defined $o->{$at};
    }

    my $conf = `"$ROOT/scripts/chaton-conf" @{[ $o->{template} // "" ]}`;
    die "chaton-conf failed\n" if $?;

    open $fh, '>', "$self->{dir}/nginx.conf" or die $!;
    print $fh $conf;
    close $fh;
}

# a credentials file named $name in the test's directory (key B the
# mock's unless given): its path, for chaton_credentials

sub cred_file {
    my ($self, $name, $key_b) = @_;
    my $file = "$self->{dir}/$name.cred";
    open my $fh, '>', $file or die $!;
    print $fh "name = $name\nkey_a = $self->{key_a}\n"
        . "key_b = " . ($key_b // $self->{key_b}) . "\n"
        . "user_agent = $self->{ua_str}\n";
    close $fh;
    chmod 0600, $file;
    return $file;
}

sub start_nginx {
    my ($self) = @_;

    $self->write_conf;

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open STDERR, '>>', "$self->{dir}/logs/stderr.log";
        open STDOUT, '>>', "$self->{dir}/logs/stderr.log";
        exec $NGINX, '-p', $self->{dir}, '-c', "$self->{dir}/nginx.conf",
            '-g', 'daemon off;'
            or die "exec nginx: $!";
    }

    $self->{nginx_pid} = $pid;

    for (1 .. 200) {
        return $self if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $self->{port});
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{nginx_pid};
            croak "nginx did not start: "
                . $self->slurp('logs/stderr.log')
                . $self->slurp('logs/error.log');
        }
        sleep 0.05;
    }

    croak "nginx did not listen on $self->{port}";
}

# nginx -t on the configuration; returns (exit code, output)

sub conf_test {
    my ($self) = @_;
    $self->write_conf;
    my $out = `"$NGINX" -t -p "$self->{dir}" -c "$self->{dir}/nginx.conf" 2>&1`;
    return ($? >> 8, $out);
}

sub master_pid { $_[0]{nginx_pid} }

# the pids of the master's workers, waiting (a while) for one to exist:
# a slow worker (under valgrind) starts well after the master listens
sub worker_pids {
    my ($self, $timeout) = @_;
    my $master = $self->{nginx_pid};
    my $end = time + ($timeout // 20);
    my @pids;

    while (!@pids && time < $end) {
        for my $pid (map { m{/proc/(\d+)\z} ? $1 : () } glob '/proc/[0-9]*') {
            open my $fh, '<', "/proc/$pid/stat" or next;
            my $st = <$fh> // '';
            my ($ppid) = $st =~ /^\d+ \(.*?\) \S (\d+)/;
            push @pids, $pid if ($ppid // 0) == $master;
        }
        sleep 0.05 unless @pids;
    }

    return @pids;
}

sub worker_pid { (sort { $a <=> $b } $_[0]->worker_pids)[0] }

sub signal_nginx {
    my ($self, $sig) = @_;
    kill $sig, $self->{nginx_pid};
}

sub stop_nginx {
    my ($self) = @_;
    my $pid = delete $self->{nginx_pid} or return;
    kill 'QUIT', $pid;
    for (1 .. 100) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'TERM', $pid;
    for (1 .. 60) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub stop_mock {
    my ($self) = @_;
    my $pid = delete $self->{mock_pid} or return;
    kill 'TERM', $pid;
    waitpid($pid, 0);
    close delete $self->{mock_fh};
}

# stops everything and checks nginx never complained of itself: no alerts,
# no crashed workers, no sanitizer reports.  allow => [qr/.../, ...] lists
# lines a test caused on purpose (a worker it killed itself), left out of
# the check.

sub finish {
    my ($self, %o) = @_;
    $self->stop_nginx;
    $self->stop_mock;

    my @allow = @{ $o{allow} // [] };
    my $log = $self->slurp('logs/error.log') . $self->slurp('logs/stderr.log');
    my @bad = grep { my $l = $_; !grep { $l =~ $_ } @allow }
              grep { /\[(alert|crit|emerg)\]|exited on signal|AddressSanitizer|runtime error:|LeakSanitizer/ }
              split /\n/, $log;
    ok(!@bad, 'no alerts, crashes or sanitizer reports in the error log')
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    $self->stop_nginx;
    $self->stop_mock;
}

sub slurp {
    my ($self, $file) = @_;
    open my $fh, '<', "$self->{dir}/$file" or return '';
    local $/;
    return scalar <$fh>;
}

sub error_log { $_[0]->slurp('logs/error.log') }
sub access_log { $_[0]->slurp('logs/access.log') }

# HTTP

sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

sub ua {
    my ($self) = @_;
    return $self->{ua} //= Mojo::UserAgent->new(
        inactivity_timeout => 30, request_timeout => 60,
        connect_timeout => 5, max_response_size => 0);
}

# a request; $body is a string (sent as is) or a reference (sent as JSON)
sub request {
    my ($self, $method, $path, $body, %headers) = @_;
    $headers{'Content-Type'} //= 'application/json' if defined $body;
    $body = encode_json($body) if ref $body;
    my $tx = $self->ua->build_tx($method => $self->url($path) => \%headers
                                 => (defined $body ? $body : ()));
    return $self->ua->start($tx)->res;
}

sub post { my $self = shift; $self->request(POST => @_) }
sub get { my $self = shift; $self->request(GET => @_) }

sub chat {
    my ($self, %body) = @_;
    $body{model} = 'gpt-4o' unless exists $body{model};
    $body{messages} //= [{ role => 'user', content => 'hello' }];
    return $self->post('/v1/chat/completions', \%body);
}

# A streamed request: every piece of the body as it arrived, with the time,
# and the SSE events ("data:" payloads, comments) parsed from the whole.
sub stream {
    my ($self, $path, $body, %o) = @_;
    my $headers = $o{headers} // {};
    $headers->{'Content-Type'} //= 'application/json';
    $body = encode_json($body) if ref $body;

    my $ua = $o{ua} // $self->ua;
    my $tx = $ua->build_tx(POST => $self->url($path) => $headers => $body);
    my (@chunks, $all);
    my $t0 = time;

    $tx->res->content->unsubscribe('read')->on(read => sub {
        my (undef, $bytes) = @_;
        push @chunks, { t => time - $t0, data => $bytes };
        $all .= $bytes;
        $o{on_chunk}->($bytes, $tx) if $o{on_chunk};
    });

    $ua->start($tx);

    my $res = $tx->res;
    return {
        res     => $res,
        tx      => $tx,
        status  => $res->code,
        error   => $tx->error,
        chunks  => \@chunks,
        body    => $all // '',
        events  => [ parse_sse($all // '') ],
    };
}

sub chat_stream {
    my ($self, %body) = @_;
    my %o = %{ delete $body{_opts} // {} };
    $body{model} //= 'gpt-4o';
    $body{stream} //= true;
    $body{messages} //= [{ role => 'user', content => 'hello' }];
    return $self->stream('/v1/chat/completions', \%body, %o);
}

# SSE text -> list of { data => "...", json => {...}, event => name } or
# { comment => "..." } (event only where an "event:" line named it)
sub parse_sse {
    my ($text) = @_;
    my @events;
    for my $block (split /\r?\n\r?\n/, $text) {
        my (@data, @comments, $name);
        for my $line (split /\r?\n/, $block) {
            if ($line =~ /^data: ?(.*)\z/s) { push @data, $1 }
            elsif ($line =~ /^event: ?(.*)\z/s) { $name = $1 }
            elsif ($line =~ /^:(.*)/) { push @comments, $1 }
        }
        push @events, { comment => $_ } for @comments;
        next unless @data;
        my $d = join "\n", @data;
        my $json = ($d ne '[DONE]') ? eval { decode_json($d) } : undef;
        push @events, { data => $d, json => $json,
                        defined $name ? (event => $name) : () };
    }
    return @events;
}

# the content of a stream: concatenated delta.content (and reasoning)
sub stream_text {
    my ($events, $field) = @_;
    $field //= 'content';
    my $text = '';
    for my $e (@$events) {
        my $d = $e->{json} && $e->{json}{choices} && $e->{json}{choices}[0]
            ? $e->{json}{choices}[0]{delta} : undef;
        $text .= $d->{$field} if $d && defined $d->{$field};
    }
    return $text;
}

# the text a client got equals the content the mock sent (kept whole, or
# as a SHA-256 for long streams)
sub is_sent_content {
    my ($rec, $text, $name) = @_;
    my $sent = $rec->{sent};
    if (defined $sent->{content}) {
        return is($text, $sent->{content}, $name);
    }
    require Digest::SHA;
    my $bytes = Encode::encode_utf8($text);
    ok(length($bytes) == $sent->{content_length}
       && Digest::SHA::sha256_hex($bytes) eq $sent->{content_sha256}, $name)
        or diag('got ' . length($bytes) . " bytes, sent $sent->{content_length}");
}

# the mock's side

sub mock_ua {
    my ($self) = @_;
    return $self->{mock_ua} //= Mojo::UserAgent->new(
        inactivity_timeout => 30, request_timeout => 30, insecure => 1);
}

sub mock_requests {
    my ($self, $route) = @_;
    my $url = "$self->{mock_base}/__mock/requests"
              . (defined $route ? "?route=$route" : '');
    my $res = $self->mock_ua->get($url)->result;
    die "mock requests: " . $res->code unless $res->is_success;
    return $res->json;
}

sub mock_knob {
    my ($self, @knobs) = @_;
    my $res = $self->mock_ua->post("$self->{mock_base}/__mock/knobs"
                                   => json => \@knobs)->result;
    die "mock knob: " . $res->code . ' ' . $res->body unless $res->is_success;
}

sub mock_reset {
    my ($self) = @_;
    $self->mock_ua->post("$self->{mock_base}/__mock/reset")->result;
}

# waits until the mock has recorded $n requests on $route (answers finish
# after the client has its bytes)
sub mock_wait {
    my ($self, $route, $n, $timeout) = @_;
    my $end = time + ($timeout // 10);
    my $r;
    while (time < $end) {
        $r = $self->mock_requests($route);
        my @done = grep { defined $_->{t_end} } @$r;
        return $r if @done >= $n;
        sleep 0.05;
    }
    return $r;
}

# an OpenAI error body: {"error":{"message","type","param","code"}}
sub is_openai_error {
    my ($res, $status, $name, %want) = @_;
    $name //= "error $status";
    my $json = eval { decode_json($res->body) };
    my $e = $json && ref $json eq 'HASH' ? $json->{error} : undef;
    my $ok = $res->code == $status
        && ($res->headers->content_type // '') =~ m{^application/json}
        && ref $e eq 'HASH'
        && defined $e->{message} && length $e->{message}
        && defined $e->{type}
        && exists $e->{param} && exists $e->{code};
    for my $k (keys %want) {
        my $v = $e && ref $e eq 'HASH' ? $e->{$k} : undef;
        $ok &&= ref $want{$k} eq 'Regexp'
            ? (defined $v && $v =~ $want{$k})
            : (defined $want{$k} ? (defined $v && $v eq $want{$k}) : !defined $v);
    }
    ok($ok, $name) or diag('got ' . $res->code . ' ' . substr($res->body // '', 0, 400));
    return $e;
}

1;
