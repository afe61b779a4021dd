// The Vercel AI SDK's default OpenAI provider: `openai(model)` of
// @ai-sdk/openai is its Responses model (POST /v1/responses), unlike
// openai.chat(model) of ai-sdk.mjs.  generateText and streamText, and each
// with a tool, running the loop to its end (stopWhen).

import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, prompt, run, usageOf }
    from './lib/check.mjs';
import { ARGS, WEATHER, getWeather, proseAfter, weatherQuestion }
    from './lib/tools.mjs';

const openai = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });
const model = openai(MODEL);

function usage(u) {
    return { prompt: u.inputTokens, completion: u.outputTokens,
             total: u.totalTokens };
}

function weatherTool(calls) {
    return { [WEATHER.name]: tool({
        description: WEATHER.description,
        inputSchema: jsonSchema(WEATHER.parameters),
        execute: async (args) => { calls.push(args); return getWeather(args); },
    }) };
}

// the first step called the tool and got its result, the second answered
function assertLoop(steps, calls) {
    const [first, second] = steps;

    assert.deepEqual(calls, [ARGS]);
    assert.equal(steps.length, 2);
    assert.equal(first.finishReason, 'tool-calls');
    assert.equal(first.toolCalls.length, 1);
    assert.equal(first.toolCalls[0].toolName, WEATHER.name);
    assert.match(first.toolCalls[0].toolCallId, /^call_/);
    assert.deepEqual(first.toolCalls[0].input, ARGS);
    assert.equal(first.toolResults[0].output, getWeather(ARGS));
    assert.equal(second.finishReason, 'stop');
    assert.deepEqual(second.toolCalls, []);
    assert.match(second.response.id, /^resp_/);
}

check('responses-ai-sdk: the default provider model is the Responses API',
      () => {
    assert.equal(model.provider, 'openai.responses');
});

check('responses-ai-sdk: generateText: text, finishReason, usage',
      async () => {
    const text = prompt('generate');
    const r = await generateText({ model, system: 'Be brief.', prompt: text,
                                   maxRetries: 0 });
    const answer = await mockAnswer(text);

    assert.equal(r.text, answer);
    assert.equal(r.finishReason, 'stop');
    assert.deepEqual(usage(r.usage), usageOf([{ content: 'Be brief.' },
                                              { content: text }], answer));
    assert.equal(r.response.modelId, MODEL);
    assert.match(r.response.id, /^resp_/);
});

check('responses-ai-sdk: streamText: the text stream is the answer, '
      + 'finishReason, usage', async () => {
    const text = prompt('stream');
    const errors = [];
    const r = streamText({ model, prompt: text, maxRetries: 0,
                           onError: ({ error }) => errors.push(error) });
    const parts = [];

    for await (const part of r.textStream) {
        parts.push(part);
    }

    const answer = await mockAnswer(text);

    assert.deepEqual(errors, []);
    assert.ok(parts.length > 2, `${parts.length} parts`);
    assert.equal(parts.join(''), answer);
    assert.equal(await r.finishReason, 'stop');
    assert.deepEqual(usage(await r.usage),
                     usageOf([{ content: text }], answer));
    assert.match((await r.response).id, /^resp_/);
});

check('responses-ai-sdk: generateText with a tool runs the loop',
      async () => {
    const calls = [];
    const r = await generateText({ model, maxRetries: 0,
        prompt: weatherQuestion('responses generate'),
        tools: weatherTool(calls), stopWhen: stepCountIs(3) });

    assertLoop(r.steps, calls);
    assert.equal(r.text, proseAfter(getWeather(ARGS)));
    assert.equal(r.finishReason, 'stop');
});

check('responses-ai-sdk: streamText with a tool runs the loop', async () => {
    const calls = [];
    const errors = [];
    const r = streamText({ model, maxRetries: 0,
        prompt: weatherQuestion('responses stream'),
        tools: weatherTool(calls), stopWhen: stepCountIs(3),
        onError: ({ error }) => errors.push(error) });
    let text = '';

    for await (const part of r.textStream) {
        text += part;
    }

    assert.deepEqual(errors, []);
    assertLoop(await r.steps, calls);
    assert.equal(text, proseAfter(getWeather(ARGS)));
    assert.equal(await r.finishReason, 'stop');
});

await run();
