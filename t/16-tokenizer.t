# The tokenizer's accuracy (issue 15): the C tokenizer of the core
# (core/chaton_bpe.c, through t/tokenizer/bpe-count.c) counts the tokens
# of a corpus of texts exactly as OpenAI's tiktoken does (the npm package
# scripts/tokenizer pins, run by node): English, code, CJK, emoji, other
# scripts, mixed, long; fixed texts and texts drawn by a seeded generator.
# Counted whole and fed as a stream in parts (a byte, a few, many; plain
# and in JSON's form), the counts are the same.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use Mojo::JSON qw(encode_json);
use Encode qw(encode_utf8);

use ChatonTest;

my $root = $ChatonTest::ROOT;
my $ranks = "$root/build/tokenizer/o200k_base.tiktoken";
my $reference = "$root/build/tokenizer/npm/count.mjs";
my $ucd = '/usr/share/unicode/UnicodeData.txt';

# scripts/tokenizer/install (make test runs it first) made these
ok(-s $ranks, 'o200k_base.tiktoken was made from the npm package')
    or BAIL_OUT('run scripts/tokenizer/install');
ok(-s $reference, 'the reference counter is installed');
ok(-s $ucd, 'UnicodeData.txt is installed (unicode-data)');

my $dir = tempdir('chaton-bpe-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $bin = "$dir/bpe-count";
my $core = "$root/ngx_chaton_module/core";

is(system('cc', '-std=c11', '-D_POSIX_C_SOURCE=200809L', '-O2', '-Wall',
          '-Wextra', '-Werror', '-Wno-unused-parameter', "-I$core",
          "$root/t/tokenizer/bpe-count.c", "$core/chaton_bpe.c",
          "$core/chaton_buf.c", "$core/chaton_json.c",
          '-lcjson', '-lcrypto', '-o', $bin), 0, 'bpe-count builds');

# --- the corpus ---------------------------------------------------------

my @texts = (
    'Hello, world!',
    "The quick brown fox jumps over the lazy dog. It's 5 o'clock; "
    . "they're sure we'll win, aren't they? I'M SURE YOU'RE RIGHT, "
    . "WE'VE SEEN IT, HE'D SAY, SHE'LL COME.",
    "Don't stop\x{017F}t \x{017F} 's 'S 'LL 'Ll 're 'rE 'x",
    "int main(void)\n{\n    printf(\"%d\\n\", 42);\n    return 0;\n}\n",
    "def f(x):\n\tif x >= 10:\n\t\treturn x ** 2  # square\n    "
    . "return [i for i in range(x)]\n\n\n",
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],'
    . '"stream":true,"n":1234567890}',
    "SELECT id, name FROM users WHERE age > 30 ORDER BY name DESC;\r\n",
    "https://example.com/path/to/page?q=1&r=two#frag // comment /* c */",
    "\x{4F60}\x{597D}\x{FF0C}\x{4E16}\x{754C}\x{3002}\x{4ECA}\x{5929}"
    . "\x{5929}\x{6C14}\x{5F88}\x{597D}\x{3002}",
    "\x{3053}\x{3093}\x{306B}\x{3061}\x{306F}\x{3001}\x{30AB}\x{30BF}"
    . "\x{30AB}\x{30CA}\x{3068}\x{6F22}\x{5B57}\x{3002}",
    "\x{C548}\x{B155}\x{D558}\x{C138}\x{C694} \x{D55C}\x{AD6D}\x{C5B4}",
    "\x{1F600}\x{1F601} \x{1F468}\x{200D}\x{1F469}\x{200D}\x{1F467} "
    . "\x{1F44D}\x{1F3FD} \x{2764}\x{FE0F} \x{1F1EB}\x{1F1F7}",
    "e\x{0301}te\x{0301} cafe\x{0301} A\x{0300}B\x{0301}c \x{0301}\x{0302}",
    "\x{041F}\x{0440}\x{0438}\x{0432}\x{0435}\x{0442}, \x{043C}\x{0438}"
    . "\x{0440}! \x{0393}\x{03B5}\x{03B9}\x{03B1} \x{03C3}\x{03BF}\x{03C5}",
    "\x{0645}\x{0631}\x{062D}\x{0628}\x{0627} \x{0628}\x{0627}\x{0644}"
    . "\x{0639}\x{0627}\x{0644}\x{0645} \x{0660}\x{0661}\x{0662}",
    "\x{0928}\x{092E}\x{0938}\x{094D}\x{0924}\x{0947} \x{0926}\x{0941}"
    . "\x{0928}\x{093F}\x{092F}\x{093E}",
    "\x{0E2A}\x{0E27}\x{0E31}\x{0E2A}\x{0E14}\x{0E35}\x{0E04}\x{0E23}"
    . "\x{0E31}\x{0E1A}",
    "   leading and trailing   ",
    "\n\n\n",
    " \n \n  \n\t\n",
    "a  b   c    d\t\te\r\n\r\nf",
    "1234567 12 3.14159 -42 1e10 0x1F \x{0661}\x{0662}\x{0663}\x{0664} "
    . "\x{2160}\x{2161} \x{00BD}",
    "<|endoftext|> <|endofprompt|> are just text here",
    "!!! ??? ... --- *** /// \\\\ ||| ((( ))) [[[ ]]] {{{ }}}",
    "MixedCASEWordsLikeHTTPServer and camelCaseThings XMLHttpRequest",
    "\x{01C5}\x{01C8} \x{02B0}\x{02B1}abc \x{00AA}\x{00BA}",
    "tab\tseparated\tvalues\n1\t2\t3\n",
    "    indented\n        more\n            most\n",
    "trailing spaces   \n   and   \n",
    "\x{00A0}non\x{00A0}breaking\x{2003}em\x{3000}ideographic\x{2028}ls",
    "\x{FEFF}bom and \x{200B}zero width",
    "\x{1F30D}\x{1F30E}\x{1F30F} earth \x{1F680}rocket\x{1F680}\x{1F680}",
    "mixed \x{4E2D}\x{6587} and English and \x{65E5}\x{672C}\x{8A9E} "
    . "with 123 numbers and \x{1F389} emoji!",
    '',
    'a',
    ' ',
    "'",
    "''s",
    "x's",
);

# long ones: prose, code, CJK (with its stops: a run of one class of
# characters over CHATON_BPE_PIECE bytes is counted in parts, README says
# so), each well over a stream's hold

my $prose = 'It was the best of times, it was the worst of times, it was '
    . 'the age of wisdom, it was the age of foolishness. ';
push @texts, $prose x 120;
push @texts, join("\n", map { "    let v$_ = compute($_, \"s$_\");" }
                  1 .. 400);
push @texts, join('', map { chr(0x4E00 + ($_ * 7919) % 20000)
                          . ($_ % 37 ? '' : "\x{3002}") } 1 .. 3000);

# drawn ones: fragments of each kind, chosen by a seeded generator

my $seed = 20240515;

sub draw {
    my ($n) = @_;
    $seed = ($seed * 1103515245 + 12345) % 2147483648;
    return int($seed / 65536) % $n;
}

my @words = qw(the of and to in is you that it he was for on are as with
    his they I at be this have from or one had by word but not what all
    were we when your can said there use an each which she do how their
    if will up other about out many then them these so some her would
    make like him into time has look two more write go see number no way
    could people my than first water been call who oil its now find long
    down day did get come made may part Gateway nginx TOKEN Usage API);

my @code = ('(', ')', '{', '}', '[', ']', ';', '=', '==', '=>', '->', '::',
    '//', '/*', '*/', '#', '"', "'", '`', '+', '-', '*', '/', '%', '&&',
    '||', '!', '<', '>', '<=', '>=', '.', ',', ':', '?', '@', '$', '^',
    '~', '\\', 'if', 'else', 'return', 'fn', 'let', 'const', 'def',
    'class', 'self', 'this', 'null', 'true', 'false', 'x', 'i', 'n',
    'foo_bar', 'FooBar', 'fooBar', '__init__', '0', '1', '42', '3.14',
    '0xff', "\n", "\n    ", "\t", ' ', '  ');

my @ranges = (
    [0x4E00, 0x9FFF], [0x3041, 0x3096], [0x30A1, 0x30FA],
    [0xAC00, 0xD7A3], [0x1F600, 0x1F64F], [0x1F300, 0x1F5FF],
    [0x0400, 0x04FF], [0x0391, 0x03C9], [0x0621, 0x064A],
    [0x0905, 0x0939], [0x093E, 0x094D], [0x0300, 0x036F],
    [0x00C0, 0x00FF], [0x2010, 0x2027], [0x2190, 0x21FF],
    [0x0E01, 0x0E3A], [0xFF01, 0xFF5E], [0x3000, 0x303F],
    [0x0660, 0x0669], [0x2070, 0x209C],
);

sub uni {
    my $r = $ranges[draw(scalar @ranges)];
    return chr($r->[0] + draw($r->[1] - $r->[0] + 1));
}

sub ws {
    return (' ', ' ', ' ', '  ', "\n", "\n\n", "\t", " \n", "\r\n",
            "   ")[draw(10)];
}

sub english {
    my ($n) = @_;
    my $s = '';
    for (1 .. $n) {
        my $w = $words[draw(scalar @words)];
        $w = ucfirst $w if draw(6) == 0;
        $w = uc $w if draw(20) == 0;
        $w .= ("'s", "'t", "'re", "'ll", "'D")[draw(5)] if draw(15) == 0;
        $s .= $w . (draw(8) == 0 ? (',', '.', '!', '?', ';', ':')[draw(6)]
                                 : '') . ws();
    }
    return $s;
}

sub code {
    my ($n) = @_;
    return join('', map { $code[draw(scalar @code)]
                          . (draw(3) ? '' : ' ') } 1 .. $n);
}

sub foreign {
    my ($n) = @_;
    return join('', map { draw(7) ? uni() : ws() } 1 .. $n);
}

sub mixed {
    my ($n) = @_;
    my $s = '';
    for (1 .. $n) {
        my $k = draw(5);
        $s .= $k == 0 ? english(1 + draw(5))
            : $k == 1 ? code(1 + draw(6))
            : $k == 2 ? foreign(1 + draw(8))
            : $k == 3 ? draw(100000) . ws()
            : join('', map { chr(0x20 + draw(95)) } 1 .. 1 + draw(10));
    }
    return $s;
}

for my $i (1 .. 60) {
    push @texts, english(5 + draw(80));
    push @texts, code(5 + draw(120));
    push @texts, foreign(3 + draw(100));
    push @texts, mixed(3 + draw(30));
}

push @texts, mixed(2000);      # long and mixed

cmp_ok(scalar @texts, '>=', 200, scalar(@texts) . ' texts');

# --- counted by both ----------------------------------------------------

# left in build/ for a look when a count differs
my $input = "$root/build/tokenizer/corpus.jsonl";
open(my $fh, '>:raw', $input) or die "$input: $!";
print $fh encode_json($_), "\n" for @texts;
close $fh;

sub counts {
    my ($cmd) = @_;
    my @n = `$cmd < $input`;
    is($?, 0, "$cmd ran");
    chomp @n;
    return \@n;
}

my $want = counts("node $reference");
is(scalar @$want, scalar @texts, 'the reference counted every text');

sub same {
    my ($got, $name) = @_;
    my @bad = grep { ($got->[$_] // -1) != $want->[$_] } 0 .. $#texts;
    ok(!@bad, "$name: every count is tiktoken's")
        or diag(join "\n", map {
            "text $_: tiktoken $want->[$_], ours " . ($got->[$_] // 'none')
            . ': ' . encode_utf8(substr($texts[$_], 0, 80)) } @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
}

same(counts("$bin $ranks $ucd"), 'whole texts');
same(counts("$bin $ranks $ucd 1"), 'a stream of characters');
same(counts("$bin $ranks $ucd 7"), 'a stream of 7-byte parts');
same(counts("$bin $ranks $ucd 100 json"), 'a stream in JSON form');

my $total = 0;
$total += $_ for @$want;
cmp_ok($total, '>', 40000, "$total tokens in all");

# --- a bad vocabulary is refused, with the reason -----------------------

open($fh, '>', "$dir/bad") or die;
print $fh "%%%% 0\n";
close $fh;

like(`$bin $dir/bad $ucd < /dev/null 2>&1`, qr/the vocabulary has a token that is not base64/,
     'a bad ranks file is refused');
like(`$bin $ranks $ranks < /dev/null 2>&1`, qr/the Unicode data is not UnicodeData/,
     'a file that is not UnicodeData.txt is refused');

done_testing();
