#!/usr/bin/env perl
# Pictures the model draws in a chat arrive as spc.unk placeholders: the
# client gets the picture's real URL in their place, in order, streamed or
# whole, and a readable note when it cannot be had.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(decode_json encode_json true false);

use ChatonTest;

my $t = ChatonTest->new;

sub count { scalar @{ $t->mock_requests($_[0]) } }

sub since {
    my ($route, $n) = @_;
    my $r = $t->mock_requests($route);
    return [ @$r[$n .. $#$r] ];
}

sub delta { encode_json({ choices => [{ index => 0, delta => { content => $_[0] } }] }) }

# the mock's own drawing, streamed: the placeholder is split across deltas

my ($c0, $s0) = (count('chats'), count('storage'));
my $s = $t->chat_stream(function_image_gen => true,
                        messages => [{ role => 'user', content => 'draw a cat' }]);
my $chat = since('chats', $c0)->[0];
my $look = since('storage', $s0)->[0];
my $text = ChatonTest::stream_text($s->{events});
my $want = $chat->{sent}{content};
$want =~ s{!\[Image\]\(https://spc\.unk/[^)]+\)}{![Image]($look->{sent}{getUrl})};
is($text, $want, 'stream: the text, with the picture\'s real URL in place');
unlike($s->{body}, qr/spc\.unk/, 'stream: no spc.unk anywhere');
is($look->{path}, "/storage/$chat->{sent}{images}[0]{path}",
   'stream: looked up the placeholder\'s path');
ok($look->{sig_ok}, 'look-up signed');
my @chunks = grep { $_->{json} } @{ $s->{events} };
is(scalar(grep { defined $_->{json}{choices}[0]{finish_reason} } @chunks), 1,
   'stream: one finish_reason');
is($s->{events}[-1]{data}, '[DONE]', 'stream: [DONE] after the picture');

# whole

($c0, $s0) = (count('chats'), count('storage'));
my $res = $t->chat(function_image_gen => true,
                   messages => [{ role => 'user', content => 'draw a dog' }]);
$chat = since('chats', $c0)->[0];
$look = since('storage', $s0)->[0];
$want = $chat->{sent}{content};
$want =~ s{!\[Image\]\(https://spc\.unk/[^)]+\)}{![Image]($look->{sent}{getUrl})};
is($res->json->{choices}[0]{message}{content}, $want,
   'whole: the picture\'s real URL in place');

# placeholders split at every awkward place, two pictures, text around

my @pieces = ('Here: !', '[Ima', 'ge](https://spc.', 'unk/images/one.png',
              ') and ', '![Second](https://spc.unk/images/two',
              '.png)', ' done! ![not a picture](https://example.com/x.png) ok');
$t->mock_knob({ route => 'chats', text => join('', @pieces) });
$t->mock_knob({ route => 'chats', events => [ map { delta($_) } @pieces ] });

# (the first knob makes the mock register both paths; the second streams
# exactly these deltas)
$t->chat(messages => [{ role => 'user', content => 'register' }]);

($s0) = count('storage');
$s = $t->chat_stream(messages => [{ role => 'user', content => 'two' }]);
my $looks = since('storage', $s0);
is(scalar @$looks, 2, 'two pictures: two look-ups');
is_deeply([ map { $_->{path} } @$looks ],
          [ '/storage/images/one.png', '/storage/images/two.png' ],
          'two pictures: in order');
is(ChatonTest::stream_text($s->{events}),
   "Here: ![Image]($looks->[0]{sent}{getUrl}) and "
   . "![Image]($looks->[1]{sent}{getUrl}) done! "
   . '![not a picture](https://example.com/x.png) ok',
   'two pictures: every piece of text, in order');

# a look-up that fails leaves a readable note, not a broken link

$t->mock_knob({ route => 'chats', text => 'Look: ![Image](https://spc.unk/images/one.png) fin' });
$t->mock_knob({ route => 'storage', status => 500 });
$res = $t->chat(messages => [{ role => 'user', content => 'fail' }]);
my $c = $res->json->{choices}[0]{message}{content};
is($c, 'Look: [image unavailable: the picture could not be retrieved] fin',
   'failed look-up: a note');
like($t->error_log, qr/resolving a picture failed/, 'failed look-up: logged');

$t->mock_knob({ route => 'chats', text => 'Look: ![Image](https://spc.unk/images/one.png) fin' });
$t->mock_knob({ route => 'storage', status => 500 });
$s = $t->chat_stream(messages => [{ role => 'user', content => 'fail' }]);
is(ChatonTest::stream_text($s->{events}),
   'Look: [image unavailable: the picture could not be retrieved] fin',
   'failed look-up, streamed: a note');
is($s->{events}[-1]{data}, '[DONE]', 'failed look-up, streamed: complete');

# a slow look-up holds the text behind the picture, nothing else

$t->mock_knob({ route => 'chats', split => 'event', event_interval_ms => 50,
                events => [ delta('before '),
                            delta('![Image](https://spc.unk/images/one.png)'),
                            delta(' after') ] });
$t->mock_knob({ route => 'storage', stall_ms => 800 });
$s = $t->chat_stream(messages => [{ role => 'user', content => 'slow' }]);
my ($before) = grep { $_->{data} =~ /before/ } @{ $s->{chunks} };
my ($after) = grep { $_->{data} =~ /after/ } @{ $s->{chunks} };
ok($before && $after && $after->{t} - $before->{t} > 0.6,
   sprintf('slow look-up: text before it went out at once (%.2fs), the '
           . 'rest after it (%.2fs)', ($before // {})->{t} // -1,
           ($after // {})->{t} // -1));
like(ChatonTest::stream_text($s->{events}), qr/^before !\[Image\]\(http[^)]+\) after$/,
     'slow look-up: in order');

# an exclamation mark alone is not held for long: released by the next delta

$t->mock_knob({ route => 'chats', events => [ delta('Wow!'), delta(' Yes.') ] });
$s = $t->chat_stream(messages => [{ role => 'user', content => 'wow' }]);
is(ChatonTest::stream_text($s->{events}), 'Wow! Yes.', 'exclamation marks');

$t->finish;

done_testing;
