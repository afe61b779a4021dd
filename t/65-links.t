#!/usr/bin/env perl
# Links in the last user message: the backend's crawler fetches each page
# (in parallel, bounded), and its text goes to the model with the message.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new(
    api => "chaton_crawl_max_urls 3;\nchaton_crawl_max_size 2k;");

sub count { scalar @{ $t->mock_requests($_[0]) } }

sub since {
    my ($route, $n) = @_;
    my $r = $t->mock_requests($route);
    return [ @$r[$n .. $#$r] ];
}

# one link; a URL whose base64 has "+" and "/" in it

my $url = 'https://example.com/a?x=~~~&y=???z';
like(encode_base64($url, ''), qr{[+/]}, 'the URL\'s base64 has + and /');

my ($u0, $c0) = (count('urls'), count('chats'));
my $res = $t->chat(function_web_search => true, messages => [
    { role => 'user', content => 'an earlier https://example.org/old link' },
    { role => 'assistant', content => 'ok' },
    { role => 'user', content => "Summarize $url please." }]);
is($res->code, 200, 'crawl: 200');

my $crawls = since('urls', $u0);
my $chat = since('chats', $c0)->[0];
is(scalar @$crawls, 1, 'crawl: only the last user message\'s link');
is($crawls->[0]{path}, '/urls/' . encode_base64($url, ''),
   'crawl: /urls/<standard base64>, sent as is');
ok($crawls->[0]{sig_ok}, 'crawl: signed');
is($crawls->[0]{url}{url}, $url, 'crawl: the backend decoded the URL');

my $page = $crawls->[0]{sent}{content};
my $sent = $chat->{json}{messages}[2]{content};
is($sent, "[Content of $url, fetched for this message]\n$page\n"
          . "[End of $url]\n\nSummarize $url please.",
   'crawl: the page text, then the message');
is($chat->{json}{messages}[0]{content},
   'an earlier https://example.org/old link', 'earlier messages unchanged');
is($chat->{json}{function_web_search}, false,
   'crawl: no web search for that turn');
ok($chat->{t} >= $crawls->[0]{t_end} - 0.01, 'crawl: before the chat');

# several links: in parallel, at most chaton_crawl_max_urls, each bounded

$t->mock_knob({ route => 'urls', times => 3, stall_ms => 300,
                text => ('long page text ' x 500) });
($u0, $c0) = (count('urls'), count('chats'));
$res = $t->chat(messages => [{ role => 'user', content =>
    'compare https://a.example/1, https://b.example/2 and '
    . '(https://c.example/3) with https://d.example/4 and https://a.example/1' }]);
is($res->code, 200, 'links: 200');
$crawls = since('urls', $u0);
$chat = since('chats', $c0)->[0];
is_deeply([ sort map { $_->{url}{url} } @$crawls ],
          [ 'https://a.example/1', 'https://b.example/2', 'https://c.example/3' ],
          'links: the first three, punctuation not part of them');
my ($last_start) = sort { $b <=> $a } map { $_->{t} } @$crawls;
my ($first_end) = sort { $a <=> $b } map { $_->{t_end} } @$crawls;
ok($last_start < $first_end, 'links: crawled at the same time');
$sent = $chat->{json}{messages}[0]{content};
my @pages = $sent =~ /\[Content of (\S+), fetched for this message\]\n(.*?)\n\[End of /sg;
is(scalar @pages, 6, 'links: three pages in the message');
ok(!(grep { length > 2048 } @pages[1, 3, 5]),
   'links: each page cut at chaton_crawl_max_size');
ok(length($pages[1]) > 1500, 'links: but not shorter than that');

# a crawler failure does not fail the chat

$t->mock_knob({ route => 'urls', status => 500 });
($c0) = count('chats');
$res = $t->chat(messages => [{ role => 'user',
                               content => 'read https://fail.example/x' }]);
is($res->code, 200, 'crawler failure: the chat goes on');
is(since('chats', $c0)->[0]{json}{messages}[0]{content},
   'read https://fail.example/x', 'crawler failure: the link as written');
like($t->error_log, qr/\[info\].*crawling "https:\/\/fail\.example\/x" failed/,
     'crawler failure: logged at info');

$t->mock_knob({ route => 'urls', drop_after_events => 1 });
$res = $t->chat_stream(messages => [{ role => 'user',
                               content => 'read https://cut.example/x' }]);
is($res->{events}[-1]{data}, '[DONE]', 'crawler cut short: the chat goes on');

$t->finish;

# the feature off

$t = ChatonTest->new(api => 'chaton_crawl off;');
$res = $t->chat(messages => [{ role => 'user',
                               content => 'see https://example.com/' }]);
is($res->code, 200, 'crawl off: 200');
is(count('urls'), 0, 'crawl off: no crawl');
is($t->mock_requests('chats')->[-1]{json}{messages}[0]{content},
   'see https://example.com/', 'crawl off: the message as written');
$t->finish;

done_testing;
