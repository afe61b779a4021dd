// The Vercel AI SDK with @ai-sdk/anthropic against the gateway's
// /v1/messages: generateText and streamText.

import assert from 'node:assert/strict';
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, streamText } from 'ai';

import { API_KEY, BASE_URL, check, mockAnswer, prompt, run }
    from './lib/check.mjs';

const anthropic = createAnthropic({ baseURL: BASE_URL, apiKey: API_KEY });
const model = anthropic('claude-3-5-sonnet-20241022');

check('ai-sdk anthropic: generateText: text, finishReason, usage',
      async () => {
    const text = prompt('generate');
    const r = await generateText({ model, system: 'Be brief.', prompt: text,
                                   maxRetries: 0 });
    const answer = await mockAnswer(text);

    assert.equal(r.text, answer);
    assert.equal(r.finishReason, 'stop');
    assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
    assert.match(r.response.id, /^msg_/);
});

check('ai-sdk anthropic: streamText: the text stream is the answer',
      async () => {
    const text = prompt('stream');
    const errors = [];
    const r = streamText({ model, prompt: text, maxRetries: 0,
                           onError: ({ error }) => errors.push(error) });
    let got = '';

    for await (const part of r.textStream) {
        got += part;
    }

    const answer = await mockAnswer(text);

    assert.deepEqual(errors, []);
    assert.equal(got, answer);
    assert.equal(await r.finishReason, 'stop');
});

await run();
