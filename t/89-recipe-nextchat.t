#!/usr/bin/env perl
# The chat apps recipe (conf.d/nextchat.conf): NextChat's requests for
# names ChatOn does not have are served by the default model and answered
# under the name asked for; its dated names reach their own model; the
# switches the ChatOn app sends are on.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mojo::JSON qw(true false);

use ChatonTest;

my $t = ChatonTest->new(
    http => 'log_format nextchat "$chaton_model $chaton_backend_model $status";',
    api  => "include $ChatonTest::ROOT/conf.d/nextchat.conf;\n"
          . 'access_log logs/nextchat.log nextchat;');

$t->mock_knob({ route => 'chats', times => 0, text => 'ok', split => 'none' });

# what NextChat sends: its model, its sampling values, a stream

sub nextchat {
    my ($model) = @_;
    return $t->chat_stream(model => $model, temperature => 0.5, top_p => 1,
                           presence_penalty => 0, frequency_penalty => 0,
                           messages => [{ role => 'system', content => 'You are ChatGPT' },
                                        { role => 'user', content => 'hi' }]);
}

sub backend { $t->mock_requests('chats')->[-1]{json} }

for my $case (['gpt-4-turbo', 'gpt-4o-mini'], ['gpt-3.5-turbo', 'gpt-4o-mini'],
              ['o1-mini', 'gpt-4o-mini'], ['gpt-4o-2024-11-20', 'gpt-4o'],
              ['chatgpt-4o-latest', 'gpt-4o'], ['o4-mini', 'o4-mini'],
              ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'])
{
    my ($asked, $served) = @$case;
    my $s = nextchat($asked);
    my @chunks = grep { $_->{json} } @{ $s->{events} };
    is($s->{status}, 200, "$asked: 200");
    ok(@chunks && !(grep { $_->{json}{model} ne $asked } @chunks),
       "$asked: answered as $asked");
    is($s->{events}[-1]{data}, '[DONE]', "$asked: a whole stream");
    is(backend()->{model}, $served, "$asked: served by $served");
}

my $b = backend();
is($b->{function_web_search}, true, 'web search on');
is($b->{function_image_gen}, true, 'pictures in chat on');
is($b->{function_code_interpreter}, false, 'code interpreter off');

$t->chat(model => 'gpt-4o', function_web_search => false);
is(backend()->{function_web_search}, false, 'an app that says false: false');

$t->finish;

my %log = map { my @f = split / /; ("$f[0]" => "$f[1] $f[2]") }
          split /\n/, $t->slurp('logs/nextchat.log');
is($log{'gpt-4-turbo'}, 'gpt-4o-mini 200',
   'access log: gpt-4-turbo served by gpt-4o-mini');
is($log{'gpt-4o-2024-11-20'}, 'gpt-4o 200',
   'access log: gpt-4o-2024-11-20 served by gpt-4o');

done_testing;
