// LangChain.js (@langchain/openai ChatOpenAI) against the gateway:
// invoke and stream.

import assert from 'node:assert/strict';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, prompt, run, usageOf }
    from './lib/check.mjs';

const chat = new ChatOpenAI({ model: MODEL, apiKey: API_KEY, maxRetries: 0,
                              configuration: { baseURL: BASE_URL } });

function usage(u) {
    return { prompt: u.input_tokens, completion: u.output_tokens,
             total: u.total_tokens };
}

check('langchain: invoke: content, finish_reason, usage', async () => {
    const text = prompt('invoke');
    const msg = await chat.invoke([new SystemMessage('Be brief.'),
                                   new HumanMessage(text)]);
    const answer = await mockAnswer(text);

    assert.equal(msg.content, answer);
    assert.equal(msg.response_metadata.finish_reason, 'stop');
    assert.equal(msg.response_metadata.model_name, MODEL);
    assert.deepEqual(msg.tool_calls, []);
    assert.deepEqual(usage(msg.usage_metadata),
                     usageOf([{ content: 'Be brief.' }, { content: text }],
                             answer));
});

check('langchain: stream: the chunks are the answer, usage at the end',
      async () => {
    const text = prompt('stream');
    const chunks = [];

    for await (const chunk of await chat.stream(text)) {
        chunks.push(chunk);
    }

    const answer = await mockAnswer(text);
    const whole = chunks.reduce((a, c) => a.concat(c));

    assert.ok(chunks.length > 2, `${chunks.length} chunks`);
    assert.equal(chunks.map((c) => c.content).join(''), answer);
    assert.equal(whole.content, answer);
    assert.equal(whole.response_metadata.finish_reason, 'stop');
    assert.deepEqual(usage(whole.usage_metadata),
                     usageOf([{ content: text }], answer));
});

check('langchain: an unknown model is an error with status 404',
      async () => {
    const bad = new ChatOpenAI({ model: 'no-such-model', apiKey: API_KEY,
                                 maxRetries: 0,
                                 configuration: { baseURL: BASE_URL } });

    await assert.rejects(bad.invoke('hello'), (e) => {
        assert.equal(e.status, 404, e.message);
        assert.equal(e.lc_error_code, 'MODEL_NOT_FOUND');
        return true;
    });
});

await run();
