// Stored responses through the official openai SDK and the AI SDK:
// previous_response_id continues a conversation (and a tool loop), and
// responses.retrieve, responses.inputItems.list and responses.delete work
// on what was stored; store: false keeps nothing.  The AI SDK's default
// provider sends an earlier answer of its own as a bare item_reference
// (its store default), which the store resolves.

import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import OpenAI from 'openai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, mockRecord, prompt,
         run } from './lib/check.mjs';
import { assertResponse } from './lib/responses.mjs';
import { ARGS, WEATHER, getWeather, proseAfter, weatherQuestion }
    from './lib/tools.mjs';

const client = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY,
                            maxRetries: 0, timeout: 20000 });

const tools = [{ type: 'function', ...WEATHER, strict: true }];

// the roles and contents the backend got
function conversation(rec) {
    return rec.json.messages.map((m) => [m.role, m.content]);
}

// what OpenAI answers for a response it does not have: GET and DELETE a
// 404, a continuation a 400 naming previous_response_id
async function notFound(promise) {
    await assert.rejects(promise, (e) => {
        assert.ok(e instanceof OpenAI.NotFoundError,
                  `${e.constructor.name}: ${e.message}`);
        assert.match(e.message, /^404 Response with id 'resp_\w+' not found/);
        return true;
    });
}

async function notContinued(promise) {
    await assert.rejects(promise, (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError,
                  `${e.constructor.name}: ${e.message}`);
        assert.equal(e.code, 'previous_response_not_found');
        assert.equal(e.param, 'previous_response_id');
        return true;
    });
}

check('responses-store: previous_response_id continues the conversation '
      + '(its instructions not carried over, as OpenAI does)', async () => {
    const first = prompt('first');
    const r1 = await client.responses.create({ model: MODEL, input: first,
        instructions: 'Be brief.' });
    const a1 = await mockAnswer(first);
    const second = prompt('second');
    const r2 = await client.responses.create({ model: MODEL,
        previous_response_id: r1.id, input: second });
    const a2 = await mockAnswer(second);

    assert.equal(r2.previous_response_id, r1.id);
    assert.notEqual(r2.id, r1.id);
    assert.equal(r2.output_text, a2);
    assert.deepEqual(conversation(await mockRecord(second)),
                     [['user', first], ['assistant', a1], ['user', second]]);
});

check('responses-store: a tool loop through previous_response_id',
      async () => {
    const r1 = await client.responses.create({ model: MODEL, tools,
        input: weatherQuestion('stored loop') });
    const call = r1.output.find((i) => i.type === 'function_call');

    assert.equal(call?.name, WEATHER.name);

    const r2 = await client.responses.create({ model: MODEL, tools,
        previous_response_id: r1.id,
        input: [{ type: 'function_call_output', call_id: call.call_id,
                  output: getWeather(JSON.parse(call.arguments)) }] });

    assert.equal(r2.output_text, proseAfter(getWeather(ARGS)));
});

check('responses-store: retrieve gives the stored response back',
      async () => {
    const text = prompt('retrieve');
    const r = await client.responses.create({ model: MODEL, input: text });
    const got = await client.responses.retrieve(r.id);

    assertResponse(got, 'completed');
    assert.equal(r.store, true);
    assert.equal(got.id, r.id);
    assert.equal(got.model, MODEL);
    assert.equal(got.output_text, await mockAnswer(text));
    assert.deepEqual(got.output, r.output);
    assert.deepEqual(got.usage, r.usage);
});

check('responses-store: inputItems.list gives the input items', async () => {
    const a = prompt('items a');
    const b = prompt('items b');
    const r = await client.responses.create({ model: MODEL,
        input: [{ role: 'user', content: a },
                { role: 'user', content: [{ type: 'input_text', text: b }] }] });
    const texts = async (order) => {
        const all = [];

        for await (const item of client.responses.inputItems.list(r.id,
                                                                  { order })) {
            assert.equal(item.type, 'message');
            assert.equal(item.role, 'user');
            assert.equal(typeof item.id, 'string');
            all.push(item.content.map((p) => p.text).join(''));
        }
        return all;
    };

    assert.deepEqual(await texts('asc'), [a, b]);
    assert.deepEqual(await texts('desc'), [b, a]);
});

check('responses-store: delete, then it is gone', async () => {
    const r = await client.responses.create({ model: MODEL,
                                              input: prompt('delete') });

    assert.equal((await client.responses.retrieve(r.id)).id, r.id);
    await client.responses.delete(r.id);
    await notFound(client.responses.retrieve(r.id));
    await notFound(client.responses.inputItems.list(r.id));
    await notFound(client.responses.delete(r.id));
    await notContinued(client.responses.create({ model: MODEL,
        input: 'again', previous_response_id: r.id }));
});

check('responses-store: store: false keeps nothing', async () => {
    const r = await client.responses.create({ model: MODEL, store: false,
                                              input: prompt('unstored') });

    assert.equal(r.store, false);
    await notFound(client.responses.retrieve(r.id));
    await notContinued(client.responses.create({ model: MODEL,
        input: 'again', previous_response_id: r.id }));
});

check('responses-store: the AI SDK\'s item_reference to an earlier answer',
      async () => {
    const openai = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });
    const first = prompt('sdk first');
    const r1 = await generateText({ model: openai(MODEL), prompt: first,
                                    maxRetries: 0 });
    const second = prompt('sdk second');
    const r2 = await generateText({ model: openai(MODEL), maxRetries: 0,
        messages: [{ role: 'user', content: first },
                   ...r1.response.messages,
                   { role: 'user', content: second }] });

    assert.deepEqual(r2.request.body.input[1],
                     { type: 'item_reference', id: r1.response.messages[0]
                         .content[0].providerOptions.openai.itemId },
                     'the SDK referred to the first answer');
    assert.equal(r2.text, await mockAnswer(second));
    assert.deepEqual(conversation(await mockRecord(second)),
                     [['user', first], ['assistant', r1.text],
                      ['user', second]]);
});

await run();
