#!/usr/bin/env perl
# The minimal recipe (conf.d/minimal.conf, conf.d/chaton-upstream.conf and
# the load snippet conf.d/mod-http-chaton.conf) installed the way
# docs/recipes.md tells, into a copy of Debian's stock /etc/nginx layout:
# nginx.conf including modules-enabled/*.conf, conf.d/*.conf and
# sites-enabled/*, the stock default site including the snippet.  nginx -t
# accepts it, and it serves chats (whole and streamed) from a backend
# reached over verified TLS, by the name api.chaton.ai, while the site's
# own pages are left as they were.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);

use ChatonTest;
use ChatonTLS;

my $ROOT = $ChatonTest::ROOT;

sub slurp_file {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

sub write_file {
    my ($f, $text, $mode) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $text;
    close $fh;
    chmod $mode, $f if defined $mode;
}

# a recipe file copied as an operator would, with the edits a test needs
# (each must match exactly as often as expected, so a changed recipe shows)
sub install_edited {
    my ($from, $to, @edits) = @_;
    my $text = slurp_file("$ROOT/$from");
    for my $e (@edits) {
        my ($old, $new, $want) = @$e;
        my $n = () = $text =~ /\Q$old\E/g;
        is($n, $want, "$from: \"$old\" is there $want time(s), to edit");
        $text =~ s/\Q$old\E/$new/g;
    }
    write_file($to, $text);
}

# the backend: the mock over TLS, with a certificate for api.chaton.ai
# from a CA of the test's own

my $aux = tempdir('chaton-recipe-minimal-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{TEST_NGINX_LEAVE});
my ($ca, $ca_key) = ChatonTLS::make_ca($aux, 'ca');
my ($crt, $key) = ChatonTLS::make_cert($aux, 'api', $ca, $ca_key,
                                       'DNS:api.chaton.ai');

# Debian's stock nginx.conf (nginx-common, Debian 12), comments dropped;
# what it has under /var and /run is in the test's prefix, and there is
# no "user" (the test may not run as root)
write_file("$aux/nginx.conf", <<'EOF');
worker_processes 1;
pid nginx.pid;
error_log logs/error.log info;
include modules-enabled/*.conf;

events {
	worker_connections 768;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;

	include mime.types;
	default_type application/octet-stream;

	ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
	ssl_prefer_server_ciphers on;

	access_log logs/access.log;

	gzip on;

	# the test's prefix, for /var/lib/nginx
	client_body_temp_path tmp/body;
	proxy_temp_path tmp/proxy;
	fastcgi_temp_path tmp/fastcgi;
	uwsgi_temp_path tmp/uwsgi;
	scgi_temp_path tmp/scgi;

	include conf.d/*.conf;
	include sites-enabled/*;
}
EOF

my $t = ChatonTest->new(no_start => 1, template => "$aux/nginx.conf",
                        mock_args => ['--tls-cert', $crt, '--tls-key', $key]);
my $dir = $t->dir;
my ($mock_port) = $t->mock_base =~ m{^https://127\.0\.0\.1:(\d+)$}
    or BAIL_OUT('the mock did not start over TLS: ' . $t->mock_base);

# the port, and nginx.conf in the prefix (the harness copies it there)
$t->write_conf;
my $port = $t->port;

make_path(map { "$dir/$_" } qw(modules share/modules-available
          modules-enabled conf.d sites-available sites-enabled snippets html));

# make install's layout: the .so in the modules directory, the load
# snippet in modules-available, linked from modules-enabled
symlink($ChatonTest::MODULE, "$dir/modules/ngx_http_chaton_module.so")
    or die "symlink: $!";
copy("$ROOT/conf.d/mod-http-chaton.conf",
     "$dir/share/modules-available/mod-http-chaton.conf") or die $!;
symlink("$dir/share/modules-available/mod-http-chaton.conf",
        "$dir/modules-enabled/50-mod-http-chaton.conf") or die $!;

if (-f '/etc/nginx/mime.types') {
    copy('/etc/nginx/mime.types', "$dir/mime.types") or die $!;
} else {
    write_file("$dir/mime.types", "types { text/html html; }\n");
}

# the recipe's files, where docs/recipes.md puts them; the only edits:
# the backend's address (the mock) and the CA bundle (the test's CA)
install_edited('conf.d/chaton-upstream.conf', "$dir/conf.d/chaton-upstream.conf",
               ['server     api.chaton.ai:443;',
                "server     127.0.0.1:$mock_port;", 1]);
install_edited('conf.d/minimal.conf', "$dir/snippets/chaton.conf",
               ['/etc/ssl/certs/ca-certificates.crt', $ca, 2]);
copy("$ROOT/conf.d/$_", "$dir/$_") or die $!
    for qw(chaton-backend.conf chaton-fetch.conf);

write_file("$dir/chaton.credentials",
           "key_a = demo-key-a\nkey_b = demo-key-b\n"
           . "user_agent = $ChatonTest::DEMO_UA\n", 0600);

# the stock default site (sites-available/default, comments dropped) on
# the test's port and root, plus the one include line
write_file("$dir/sites-available/default", <<"EOF");
server {
	listen 127.0.0.1:$port default_server;

	root html;
	index index.html index.htm index.nginx-debian.html;

	server_name _;

	location / {
		try_files \$uri \$uri/ =404;
	}

	include snippets/chaton.conf;
}
EOF
symlink("$dir/sites-available/default", "$dir/sites-enabled/default")
    or die $!;
write_file("$dir/html/index.html", "<p>the site that was there before</p>\n");

# nginx -t -p <dir> -c <dir>/nginx.conf

my ($rc, $out) = $t->conf_test;
is($rc, 0, 'nginx -t: exit status 0') or diag($out);
like($out, qr/syntax is ok/, 'nginx -t: syntax is ok');
like($out, qr/test is successful/, 'nginx -t: test is successful');
unlike($out, qr/\[(warn|emerg|alert|crit)\]/, 'nginx -t: no warnings')
    or diag($out);

$t->start_nginx;

# a chat, whole

my $res = $t->chat(model => 'gpt-4o');
my $rec = $t->mock_wait('chats', 1)->[-1];
is($res->code, 200, 'whole chat: 200');
is($res->json->{object}, 'chat.completion', 'whole chat: a chat.completion');
is($res->json->{choices}[0]{message}{content}, $rec->{sent}{content},
   'whole chat: the content the backend sent, byte for byte');
ok($rec->{sig_ok}, 'backend: the signature was valid (credentials file read)');
is($rec->{path}, '/chats/stream', 'backend: the path, through proxy_pass /');
is($rec->{headers}{host}, 'api.chaton.ai', 'backend: Host api.chaton.ai');

# a chat, streamed

my $s = $t->chat_stream(model => 'gpt-4o');
$rec = $t->mock_wait('chats', 2)->[-1];
is($s->{status}, 200, 'streamed chat: 200');
like($s->{res}->headers->content_type // '', qr{^text/event-stream},
     'streamed chat: an event stream (not gzipped, not buffered into JSON)');
ok(!defined $s->{res}->headers->content_encoding,
   'streamed chat: not compressed (the stock "gzip on" leaves event streams alone)');
ok((grep { $_->{json} } @{ $s->{events} }) > 2, 'streamed chat: several chunks');
is($s->{events}[-1]{data}, '[DONE]', 'streamed chat: ends with [DONE]');
ChatonTest::is_sent_content($rec, ChatonTest::stream_text($s->{events}),
    'streamed chat: the content the backend sent, byte for byte');

# the rest of the API, and the rest of the site

$res = $t->get('/v1/models');
ok($res->code == 200 && (grep { $_->{id} eq 'gpt-4o' } @{ $res->json->{data} }),
   '/v1/models: 200, lists gpt-4o');
ChatonTest::is_openai_error($t->get('/v1/nothing-here'), 404,
    '/v1/ unknown path: OpenAI JSON 404', code => 'unknown_url');

$res = $t->get('/');
is($res->code, 200, 'the site: / still answers');
like($res->body, qr/the site that was there before/, 'the site: its own page');
$res = $t->get('/no-such-page');
is($res->code, 404, 'the site: a missing page is a 404');
unlike($res->headers->content_type // '', qr{json},
       'the site: its 404 is nginx\'s page, not the API\'s JSON');

$res = $t->get('/chaton-backend/chats/stream');
is($res->code, 404, 'the internal backend location is not reachable');

$t->finish;
done_testing;
