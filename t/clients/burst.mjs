// Bursts through real clients: t/89-real-clients.t has the mock send each
// of these streams' deltas at once (2,000 of them, in 64 KiB writes), so
// that the gateway writes several backend reads' output in one write
// (chaton_coalesce_size).  Each client joins its deltas into the answer
// the mock sent, byte for byte, on each dialect: the openai SDK and the
// AI SDK on /v1/chat/completions, the Anthropic SDK on /v1/messages, the
// openai SDK on /v1/responses.  Run on its own, after the other scripts:
// the mock's knob applies to whichever request comes next.

import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import OpenAI from 'openai';

import { API_KEY, BASE_URL, MODEL, check, mockRecord, prompt, run }
    from './lib/check.mjs';

const openai = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY,
                            maxRetries: 0, timeout: 30000 });
const anthropic = new Anthropic({ baseURL: BASE_URL.replace(/\/v1\/?$/, ''),
                                  apiKey: API_KEY, maxRetries: 0,
                                  timeout: 30000 });
const aisdk = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });

// the answer the mock sent for text: a burst's, whole
async function burstAnswer(text) {
    const rec = await mockRecord(text);

    assert.equal(rec.sent.content_truncated, false, 'the mock kept it');
    assert.ok(rec.sent.events >= 2000, `${rec.sent.events} events sent`);
    return rec.sent.content;
}

check('burst: openai chat.completions stream: the deltas are the answer',
      async () => {
    const text = prompt('burst chat');
    const stream = await openai.chat.completions.create({ model: MODEL,
        stream: true, messages: [{ role: 'user', content: text }] });
    let deltas = '';
    let finish = 0;

    for await (const chunk of stream) {
        deltas += chunk.choices[0]?.delta?.content ?? '';
        finish += chunk.choices[0]?.finish_reason ? 1 : 0;
    }

    assert.equal(deltas, await burstAnswer(text));
    assert.equal(finish, 1, 'one finish_reason');
});

check('burst: AI SDK streamText (chat): the text is the answer', async () => {
    const text = prompt('burst ai-sdk');
    const r = streamText({ model: aisdk.chat(MODEL), prompt: text,
                           maxRetries: 0 });
    let deltas = '';

    for await (const t of r.textStream) {
        deltas += t;
    }

    assert.equal(deltas, await burstAnswer(text));
    assert.equal(await r.finishReason, 'stop');
});

check('burst: anthropic messages.stream(): the text is the answer',
      async () => {
    const text = prompt('burst messages');
    const stream = anthropic.messages.stream({ model: 'claude-3-5-sonnet-latest',
        max_tokens: 1024, messages: [{ role: 'user', content: text }] });
    let deltas = '';

    stream.on('text', (t) => { deltas += t; });

    const m = await stream.finalMessage();
    const answer = await burstAnswer(text);

    assert.equal(deltas, answer);
    assert.equal(m.content[0].text, answer);
    assert.equal(m.stop_reason, 'end_turn');
});

check('burst: openai responses stream: the deltas are the answer',
      async () => {
    const text = prompt('burst responses');
    const stream = await openai.responses.create({ model: MODEL,
        stream: true, input: [{ role: 'user', content: text }] });
    let deltas = '';
    let done;

    for await (const e of stream) {
        if (e.type === 'response.output_text.delta') {
            deltas += e.delta;
        } else if (e.type === 'response.completed') {
            done = e.response;
        }
    }

    const answer = await burstAnswer(text);

    assert.equal(deltas, answer);
    assert.equal(done?.status, 'completed');
    assert.equal(done.output_text ?? done.output[0].content[0].text, answer);
});

await run();
