// Tool calling through the official openai SDK: a call in a whole answer
// and in a stream, and runTools() completing the two-step loop (the model
// calls get_weather, the runner calls it, the model answers in prose with
// the result), whole and streamed.

import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, BASE_URL, MODEL, check, run } from './lib/check.mjs';
import { ARGS, WEATHER, assertWeatherCall, getWeather, proseAfter,
         weatherQuestion } from './lib/tools.mjs';

const client = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY,
                            maxRetries: 0, timeout: 20000 });

const tools = [{ type: 'function', function: WEATHER }];

// the runner's tool: records its calls
function runnable(calls) {
    return [{ type: 'function', function: {
        ...WEATHER,
        parse: JSON.parse,
        function: (args) => { calls.push(args); return getWeather(args); },
    } }];
}

check('tools-openai: a whole answer carries the call, content null',
      async () => {
    const c = await client.chat.completions.create({ model: MODEL, tools,
        messages: [{ role: 'user', content: weatherQuestion('whole') }] });
    const m = c.choices[0].message;

    assert.equal(c.choices[0].finish_reason, 'tool_calls');
    assert.equal(m.content, null);
    assert.equal(m.tool_calls.length, 1);
    assertWeatherCall(m.tool_calls[0]);
});

check('tools-openai: a stream\'s delta.tool_calls assemble into the call',
      async () => {
    const stream = await client.chat.completions.create({ model: MODEL,
        tools, stream: true,
        messages: [{ role: 'user', content: weatherQuestion('stream') }] });
    const call = { function: { arguments: '' } };
    const finish = [];

    for await (const chunk of stream) {
        const choice = chunk.choices[0];

        for (const d of choice?.delta?.tool_calls ?? []) {
            assert.equal(d.index, 0);
            call.id ??= d.id;
            call.type ??= d.type;
            call.function.name ??= d.function?.name;
            call.function.arguments += d.function?.arguments ?? '';
        }
        if (choice?.finish_reason) {
            finish.push(choice.finish_reason);
        }
    }

    assertWeatherCall(call);
    assert.deepEqual(finish, ['tool_calls']);
});

// the runner's two completions: the call, then the prose quoting its result
async function assertLoop(runner, calls) {
    const content = await runner.finalContent();
    const steps = runner.allChatCompletions();

    assert.deepEqual(calls, [ARGS]);
    assert.equal(steps.length, 2);
    assert.equal(steps[0].choices[0].finish_reason, 'tool_calls');
    assertWeatherCall(steps[0].choices[0].message.tool_calls[0]);
    assert.equal(steps[1].choices[0].finish_reason, 'stop');
    assert.equal(content, proseAfter(getWeather(ARGS)));
    return content;
}

check('tools-openai: runTools completes the loop, whole', async () => {
    const calls = [];
    const runner = client.chat.completions.runTools({ model: MODEL,
        tools: runnable(calls),
        messages: [{ role: 'user', content: weatherQuestion('runner') }] });

    await assertLoop(runner, calls);
});

check('tools-openai: runTools completes the loop, streamed', async () => {
    const calls = [];
    const runner = client.chat.completions.runTools({ model: MODEL,
        stream: true, tools: runnable(calls),
        messages: [{ role: 'user',
                     content: weatherQuestion('streamed runner') }] });
    let deltas = '';

    runner.on('content', (delta) => { deltas += delta; });

    const content = await assertLoop(runner, calls);

    assert.equal(deltas, content);
});

await run();
