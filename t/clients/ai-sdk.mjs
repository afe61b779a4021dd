// The Vercel AI SDK (ai + @ai-sdk/openai) against the gateway, through the
// chat completions model (openai.chat): generateText and streamText.

import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, streamText } from 'ai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, prompt, run, usageOf }
    from './lib/check.mjs';

const openai = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });
const model = openai.chat(MODEL);

function usage(u) {
    return { prompt: u.inputTokens, completion: u.outputTokens,
             total: u.totalTokens };
}

check('ai-sdk: generateText: text, finishReason, usage', async () => {
    const text = prompt('generate');
    const r = await generateText({ model, system: 'Be brief.', prompt: text,
                                   maxRetries: 0 });
    const answer = await mockAnswer(text);
    const messages = [{ content: 'Be brief.' }, { content: text }];

    assert.equal(r.text, answer);
    assert.equal(r.finishReason, 'stop');
    assert.deepEqual(usage(r.usage), usageOf(messages, answer));
    assert.equal(r.response.modelId, MODEL);
    assert.match(r.response.id, /^chatcmpl-/);
});

check('ai-sdk: streamText: the text stream is the answer, finishReason, '
      + 'usage', async () => {
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
    assert.equal(await r.text, answer);
    assert.equal(await r.finishReason, 'stop');
    assert.deepEqual(usage(await r.usage),
                     usageOf([{ content: text }], answer));
});

check('ai-sdk: an unknown model is an APICallError, 404', async () => {
    await assert.rejects(generateText({ model: openai.chat('no-such-model'),
                                        prompt: 'hello', maxRetries: 0 }),
                         (e) => {
        assert.ok(APICallError.isInstance(e), e.constructor.name);
        assert.equal(e.statusCode, 404);
        assert.match(e.message, /no-such-model/);
        return true;
    });
});

await run();
