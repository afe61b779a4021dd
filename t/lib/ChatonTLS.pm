package ChatonTLS;

# Certificates made at test time with the openssl command line (for the
# TLS recipes' tests): a CA, and server certificates it signs.
#
#   my ($ca, $ca_key) = ChatonTLS::make_ca($dir, 'ca');
#   my ($crt, $key) = ChatonTLS::make_cert($dir, 'mock', $ca, $ca_key,
#                                          'DNS:mock.test');

use strict;
use warnings;

use Carp qw(croak);

sub openssl {
    my (@args) = @_;
    my $pid = open(my $out, '-|') // croak "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec 'openssl', @args or die "exec openssl: $!";
    }
    my $text = do { local $/; <$out> } // '';
    close $out;
    croak "openssl @args[0 .. 1]: failed: $text" if $?;
}

# a self-signed CA: returns (certificate, key) paths
sub make_ca {
    my ($dir, $name, $cn) = @_;
    my ($crt, $key) = ("$dir/$name.pem", "$dir/$name.key");
    openssl('req', '-x509', '-newkey', 'ec',
            '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', $key, '-out', $crt, '-days', '2',
            '-subj', '/CN=' . ($cn // "ngx_chaton test CA $name"));
    return ($crt, $key);
}

# a server certificate for @san ("DNS:name", "IP:addr") signed by the CA
sub make_cert {
    my ($dir, $name, $ca, $ca_key, @san) = @_;
    my ($crt, $key) = ("$dir/$name.pem", "$dir/$name.key");
    my ($cn) = map { /^(?:DNS|IP):(.*)/ ? $1 : () } @san;
    openssl('req', '-x509', '-newkey', 'ec',
            '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', $key, '-out', $crt, '-days', '2',
            '-subj', "/CN=$cn",
            '-addext', 'subjectAltName=' . join(',', @san),
            '-addext', 'basicConstraints=critical,CA:FALSE',
            '-addext', 'extendedKeyUsage=serverAuth',
            '-CA', $ca, '-CAkey', $ca_key);
    return ($crt, $key);
}

1;
