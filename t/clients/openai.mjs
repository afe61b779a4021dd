// The official openai SDK against the gateway: chat completions whole and
// streamed, its stream helper, errors as the SDK's classes, the models list.

import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, prompt, run, usageOf }
    from './lib/check.mjs';

const client = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY,
                            maxRetries: 0, timeout: 20000 });

function usage(u) {
    return { prompt: u.prompt_tokens, completion: u.completion_tokens,
             total: u.total_tokens };
}

function chunksText(chunks) {
    return chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
}

check('openai: a whole answer: content, finish_reason, usage', async () => {
    const messages = [{ role: 'system', content: 'Be brief.' },
                      { role: 'user', content: prompt('whole') }];
    const c = await client.chat.completions.create({ model: MODEL, messages });
    const answer = await mockAnswer(messages[1].content);

    assert.equal(c.object, 'chat.completion');
    assert.match(c.id, /^chatcmpl-/);
    assert.equal(c.model, MODEL);
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(c.choices[0].message.content, answer);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(usage(c.usage), usageOf(messages, answer));
});

check('openai: a stream: the deltas are the answer, one finish_reason',
      async () => {
    const messages = [{ role: 'user', content: prompt('stream') }];
    const stream = await client.chat.completions.create({ model: MODEL,
        messages, stream: true });
    const chunks = [];

    for await (const chunk of stream) {
        chunks.push(chunk);
    }

    const answer = await mockAnswer(messages[0].content);
    const finish = chunks.map((c) => c.choices[0]?.finish_reason)
                         .filter((f) => f != null);

    assert.ok(chunks.length > 2, `${chunks.length} chunks`);
    assert.equal(chunksText(chunks), answer);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.deepEqual(finish, ['stop']);
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'stop');
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id');
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'
                                  && c.model === MODEL));
    assert.ok(chunks.every((c) => c.usage == null), 'no usage unasked');
});

check('openai: a stream with include_usage ends with the usage chunk',
      async () => {
    const messages = [{ role: 'user', content: prompt('usage') }];
    const stream = await client.chat.completions.create({ model: MODEL,
        messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];

    for await (const chunk of stream) {
        chunks.push(chunk);
    }

    const answer = await mockAnswer(messages[0].content);
    const last = chunks[chunks.length - 1];

    assert.equal(chunksText(chunks), answer);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(usage(last.usage), usageOf(messages, answer));
    assert.equal(chunks[chunks.length - 2].choices[0].finish_reason, 'stop');
});

check('openai: the stream helper assembles the final completion',
      async () => {
    const messages = [{ role: 'user', content: prompt('helper') }];
    const stream = client.chat.completions.stream({ model: MODEL, messages,
        stream_options: { include_usage: true } });
    let deltas = '';

    stream.on('content', (delta) => { deltas += delta; });

    const c = await stream.finalChatCompletion();
    const answer = await mockAnswer(messages[0].content);

    assert.equal(deltas, answer);
    assert.equal(c.choices[0].message.content, answer);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(usage(c.usage), usageOf(messages, answer));
});

check('openai: an unknown model is the SDK\'s NotFoundError, 404',
      async () => {
    await assert.rejects(client.chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'hello' }] }), (e) => {
        assert.ok(e instanceof OpenAI.NotFoundError, e.constructor.name);
        assert.equal(e.status, 404);
        assert.equal(e.code, 'model_not_found');
        assert.equal(e.param, 'model');
        return true;
    });
});

check('openai: an unknown model in a stream is a NotFoundError too',
      async () => {
    await assert.rejects(client.chat.completions.create({
        model: 'no-such-model', stream: true,
        messages: [{ role: 'user', content: 'hello' }] }), (e) => {
        assert.ok(e instanceof OpenAI.NotFoundError, e.constructor.name);
        assert.equal(e.status, 404);
        return true;
    });
});

check('openai: a bad request is the SDK\'s BadRequestError, 400',
      async () => {
    await assert.rejects(client.chat.completions.create({
        model: MODEL, temperature: 9,
        messages: [{ role: 'user', content: 'hello' }] }), (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
        assert.equal(e.status, 400);
        assert.equal(e.type, 'invalid_request_error');
        assert.equal(e.param, 'temperature');
        assert.match(e.message, /^400 .*temperature/);
        return true;
    });
});

check('openai: the models list pages through and names gpt-4o', async () => {
    const ids = [];

    for await (const m of client.models.list()) {
        ids.push(m.id);
    }

    assert.ok(ids.includes(MODEL), ids.join(' '));
    assert.equal((await client.models.retrieve(MODEL)).id, MODEL);
});

await run();
