// The Vercel AI SDK (ai + @ai-sdk/openai) against the gateway, through both
// of its OpenAI models: openai.chat(model) on /v1/chat/completions and the
// default provider's openai(model) on /v1/responses: generateText and
// streamText.

import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, streamText } from 'ai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, prompt, run, usageOf }
    from './lib/check.mjs';

const openai = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });

// each model, the prefix of its responses' ids
const MODELS = [
    { api: 'chat', model: (id) => openai.chat(id), id: /^chatcmpl-/ },
    { api: 'responses', model: (id) => openai(id), id: /^resp_/ },
];

function usage(u) {
    return { prompt: u.inputTokens, completion: u.outputTokens,
             total: u.totalTokens };
}

check('ai-sdk: the default provider\'s model is the Responses one', () => {
    assert.equal(openai(MODEL).provider, 'openai.responses');
    assert.equal(openai.chat(MODEL).provider, 'openai.chat');
});

for (const { api, model: of, id } of MODELS) {
    const model = of(MODEL);

    check(`ai-sdk (${api}): generateText: text, finishReason, usage`,
          async () => {
        const text = prompt(`generate ${api}`);
        const r = await generateText({ model, system: 'Be brief.',
                                       prompt: text, maxRetries: 0 });
        const answer = await mockAnswer(text);
        const messages = [{ content: 'Be brief.' }, { content: text }];

        assert.equal(r.text, answer);
        assert.equal(r.finishReason, 'stop');
        assert.deepEqual(usage(r.usage), usageOf(messages, answer));
        assert.equal(r.response.modelId, MODEL);
        assert.match(r.response.id, id);
    });

    check(`ai-sdk (${api}): streamText: the text stream is the answer, `
          + 'finishReason, usage', async () => {
        const text = prompt(`stream ${api}`);
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
        assert.match((await r.response).id, id);
    });

    check(`ai-sdk (${api}): an unknown model is an APICallError, 404`,
          async () => {
        await assert.rejects(generateText({ model: of('no-such-model'),
                                            prompt: 'hello', maxRetries: 0 }),
                             (e) => {
            assert.ok(APICallError.isInstance(e), e.constructor.name);
            assert.equal(e.statusCode, 404);
            assert.match(e.message, /no-such-model/);
            return true;
        });
    });
}

await run();
