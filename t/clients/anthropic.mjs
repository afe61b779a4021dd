// The official @anthropic-ai/sdk against the gateway's /v1/messages:
// messages.create whole, messages.stream() to finalMessage(), a tool loop
// with tool_result, thinking blocks from deepseek-r1, an image block,
// countTokens, models.list, errors as the SDK's typed errors.

import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import { API_KEY, BASE_URL, check, mockAnswer, mockRecord, prompt, run }
    from './lib/check.mjs';

const MODEL = 'claude-3-5-sonnet-20241022';

// the SDK adds /v1 itself
const client = new Anthropic({ baseURL: BASE_URL.replace(/\/v1\/?$/, ''),
                               apiKey: API_KEY, maxRetries: 0,
                               timeout: 20000 });

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QD'
            + 'wADhgGAWjR9awAAAABJRU5ErkJggg==';

const weather = { name: 'get_weather', description: 'The weather now',
                  input_schema: { type: 'object',
                                  properties: { city: { type: 'string' } },
                                  required: ['city'] } };

check('anthropic: messages.create: a message, its text, end_turn, usage',
      async () => {
    const text = prompt('whole');
    const m = await client.messages.create({ model: MODEL, max_tokens: 256,
        system: 'Be brief.', messages: [{ role: 'user', content: text }] });
    const answer = await mockAnswer(text);

    assert.equal(m.type, 'message');
    assert.match(m.id, /^msg_/);
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, MODEL);
    assert.equal(m.content.length, 1);
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text, answer);
    assert.equal(m.stop_reason, 'end_turn');
    assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
});

check('anthropic: messages.stream(): text events, finalMessage()',
      async () => {
    const text = prompt('stream');
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256,
        messages: [{ role: 'user', content: text }] });
    let deltas = '';

    stream.on('text', (t) => { deltas += t; });

    const m = await stream.finalMessage();
    const answer = await mockAnswer(text);

    assert.equal(deltas, answer);
    assert.equal(m.content[0].text, answer);
    assert.equal(m.stop_reason, 'end_turn');
    assert.ok(m.usage.output_tokens > 0);
});

check('anthropic: a tool loop: tool_use, then tool_result, then the answer',
      async () => {
    const ask = `${prompt('tools')} [[tool get_weather {"city":"Paris"}]]`;
    const messages = [{ role: 'user', content: ask }];
    const first = await client.messages.create({ model: MODEL,
        max_tokens: 256, tools: [weather], messages });
    const use = first.content.find((b) => b.type === 'tool_use');

    assert.equal(first.stop_reason, 'tool_use');
    assert.ok(use, 'a tool_use block');
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });

    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result',
        tool_use_id: use.id, content: 'sunny, 24 C' }] });

    const stream = client.messages.stream({ model: MODEL, max_tokens: 256,
                                            tools: [weather], messages });
    const last = await stream.finalMessage();

    assert.equal(last.stop_reason, 'end_turn');
    assert.match(last.content[0].text, /The tool said: sunny, 24 C/);
});

check('anthropic: thinking blocks from deepseek-r1, whole and streamed',
      async () => {
    const text = prompt('think');
    const m = await client.messages.create({ model: 'deepseek-r1',
        max_tokens: 256, messages: [{ role: 'user', content: text }] });
    const rec = await mockRecord(text);

    assert.deepEqual(m.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(m.content[0].thinking, rec.sent.reasoning);
    assert.equal(m.content[1].text, rec.sent.content);

    const text2 = prompt('think');
    const s = await client.messages.stream({ model: 'deepseek-r1',
        max_tokens: 256, messages: [{ role: 'user', content: text2 }] })
        .finalMessage();
    const rec2 = await mockRecord(text2);

    assert.deepEqual(s.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(s.content[0].thinking, rec2.sent.reasoning);
});

check('anthropic: an image block is uploaded and seen', async () => {
    const m = await client.messages.create({ model: MODEL, max_tokens: 256,
        messages: [{ role: 'user', content: [
            { type: 'image', source: { type: 'base64',
                                       media_type: 'image/png', data: PNG } },
            { type: 'text', text: prompt('image') }] }] });

    assert.match(m.content[0].text, /^I see 1 image/);
});

check('anthropic: countTokens, and the models list', async () => {
    const c = await client.messages.countTokens({ model: MODEL,
        messages: [{ role: 'user', content: 'count me' }] });

    assert.ok(Number.isInteger(c.input_tokens) && c.input_tokens > 0);

    const ids = [];
    for await (const model of client.models.list()) {
        assert.equal(model.type, 'model');
        assert.ok(model.display_name && model.created_at);
        ids.push(model.id);
    }
    assert.ok(ids.includes('claude-3-5-sonnet'), ids.join(' '));

    const one = await client.models.retrieve(MODEL);
    assert.equal(one.id, MODEL);
});

check('anthropic: errors are the SDK\'s typed errors with their status',
      async () => {
    await assert.rejects(client.messages.create({ model: 'no-such-model',
        max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
        (e) => e instanceof Anthropic.NotFoundError && e.status === 404
               && e.error?.error?.type === 'not_found_error');
    await assert.rejects(client.messages.create({ model: MODEL,
        messages: [{ role: 'user', content: 'x' }] }),
        (e) => e instanceof Anthropic.BadRequestError && e.status === 400
               && /max_tokens/.test(e.message));

    await fetch(`${process.env.CHATON_MOCK_URL}/__mock/knobs`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify([{ route: 'chats', status: 529 }]) });
    await assert.rejects(client.messages.create({ model: MODEL,
        max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
        (e) => e instanceof Anthropic.InternalServerError && e.status === 529
               && e.error?.error?.type === 'overloaded_error');
});

await run();
