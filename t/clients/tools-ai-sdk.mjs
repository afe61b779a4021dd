// Tool calling through the Vercel AI SDK, with both of its OpenAI models
// (openai.chat on chat completions, the default openai(model) on
// Responses): generateText with a zod tool and streamText with a
// JSON-schema tool, each running the loop to its end (the call, the tool's
// result, the prose quoting it).

import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

import { API_KEY, BASE_URL, MODEL, check, run } from './lib/check.mjs';
import { ARGS, WEATHER, getWeather, proseAfter, weatherQuestion }
    from './lib/tools.mjs';

const openai = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });
const MODELS = { chat: openai.chat(MODEL), responses: openai(MODEL) };

function weatherTool(inputSchema, calls) {
    return { [WEATHER.name]: tool({
        description: WEATHER.description,
        inputSchema,
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
}

for (const [api, model] of Object.entries(MODELS)) {
    check(`tools-ai-sdk (${api}): generateText with a zod tool runs the loop`,
          async () => {
        const calls = [];
        const r = await generateText({ model, maxRetries: 0,
            prompt: weatherQuestion(`generate ${api}`),
            tools: weatherTool(z.object({ city: z.string() }), calls),
            stopWhen: stepCountIs(3) });

        assertLoop(r.steps, calls);
        assert.equal(r.text, proseAfter(getWeather(ARGS)));
        assert.equal(r.finishReason, 'stop');
        assert.ok(r.totalUsage.inputTokens > 0, 'usage of both steps');
    });

    check(`tools-ai-sdk (${api}): streamText with a JSON-schema tool runs the `
          + 'loop', async () => {
        const calls = [];
        const errors = [];
        const r = streamText({ model, maxRetries: 0,
            prompt: weatherQuestion(`stream ${api}`),
            tools: weatherTool(jsonSchema(WEATHER.parameters), calls),
            stopWhen: stepCountIs(3),
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
}

await run();
