#!/usr/bin/env perl
# make install / make uninstall (mk/install.mk) into a temporary DESTDIR:
# Debian's layout for a module (the .so in /usr/lib/nginx/modules, the
# load snippet in /usr/share/nginx/modules-available, linked from
# /etc/nginx/modules-enabled/50-...), a snippet nginx loads the installed
# module with, and an uninstall that leaves none of it behind.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Find qw(find);
use File::Temp qw(tempdir);

use ChatonTest;

my $ROOT = $ChatonTest::ROOT;
my $SO = $ChatonTest::MODULE;

plan skip_all => "the module is not built ($SO; make build)" unless -f $SO;

my $tmp = tempdir('chaton-install-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{TEST_NGINX_LEAVE});

sub make {
    my (@args) = @_;
    my $out = `make -s -C "$ROOT" @args 2>&1`;
    return ($? >> 8, $out);
}

# everything under a directory that is not a directory: files and links
sub non_dirs {
    my ($dir) = @_;
    my @found;
    find({ no_chdir => 1, wanted => sub {
        push @found, substr($_, length $dir) if -l $_ || !-d _;
    } }, $dir);
    return [ sort @found ];
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    return scalar <$fh>;
}

my $so_dest = '/usr/lib/nginx/modules/ngx_http_chaton_module.so';
my $conf_dest = '/usr/share/nginx/modules-available/mod-http-chaton.conf';
my $link_dest = '/etc/nginx/modules-enabled/50-mod-http-chaton.conf';

# install

my $destdir = "$tmp/root";
my ($rc, $out) = make('install', "DESTDIR=$destdir", "CHATON_SO=$SO");
is($rc, 0, 'make install DESTDIR=...: succeeded') or diag($out);

is_deeply(non_dirs($destdir), [ sort $so_dest, $conf_dest, $link_dest ],
          'install: exactly the .so, the load snippet and its link');

ok(-f "$destdir$so_dest" && slurp("$destdir$so_dest") eq slurp($SO),
   'install: the module, the built .so byte for byte');
is((stat "$destdir$so_dest")[2] & 07777, 0644, 'install: the module is mode 0644');

is(slurp("$destdir$conf_dest"), "load_module modules/ngx_http_chaton_module.so;\n",
   'install: the snippet is the load_module line, relative to nginx\'s prefix');
is((stat "$destdir$conf_dest")[2] & 07777, 0644, 'install: the snippet is mode 0644');

ok(-l "$destdir$link_dest", 'install: modules-enabled holds a symlink');
is(readlink("$destdir$link_dest"), $conf_dest,
   'install: the link points at the snippet in modules-available (absolute, without DESTDIR)');

# nginx loads the installed module through the installed snippet, with
# "modules/" resolved against its prefix as Debian's /usr/share/nginx
# (whose "modules" is a link to /usr/lib/nginx/modules)

my $prefix = "$tmp/prefix";
mkdir $prefix or die $!;
mkdir "$prefix/logs" or die $!;
symlink("$destdir/usr/lib/nginx/modules", "$prefix/modules") or die $!;
open my $fh, '>', "$prefix/nginx.conf" or die $!;
print $fh "include $destdir$conf_dest;\n"
    . "pid nginx.pid;\nerror_log logs/error.log;\n"
    . "events { }\n"
    . "http { chaton_max_tokens 100; }\n";
close $fh;
$out = `"$ChatonTest::NGINX" -t -p "$prefix" -c "$prefix/nginx.conf" 2>&1`;
ok($? == 0 && $out =~ /test is successful/,
   'nginx -t: the installed snippet loads the installed module (its directives are known)')
    or diag($out);

# installing again over an installation is fine

($rc, $out) = make('install', "DESTDIR=$destdir", "CHATON_SO=$SO");
is($rc, 0, 'make install again: succeeded') or diag($out);
is_deeply(non_dirs($destdir), [ sort $so_dest, $conf_dest, $link_dest ],
          'install again: still exactly the three');

# uninstall

($rc, $out) = make('uninstall', "DESTDIR=$destdir");
is($rc, 0, 'make uninstall DESTDIR=...: succeeded') or diag($out);
is_deeply(non_dirs($destdir), [], 'uninstall: no file or link of ours is left');

($rc, $out) = make('uninstall', "DESTDIR=$destdir");
is($rc, 0, 'make uninstall again (nothing installed): succeeded') or diag($out);

# without a built module, install refuses and installs nothing

my $empty = "$tmp/empty";
($rc, $out) = make('install', "DESTDIR=$empty", "CHATON_SO=$tmp/no-such.so");
isnt($rc, 0, 'make install without the .so: fails');
like($out, qr/run "make build" first/, 'make install without the .so: says to build first');
ok(!-e $empty, 'make install without the .so: installs nothing');

done_testing;
