// The official openai SDK on /v1/responses: responses.create whole and
// streamed (every event checked against the SDK's types and OpenAI's event
// order), responses.stream() to finalResponse(), reasoning as a summary, a
// function-tool loop closed by function_call_output, and the stored
// responses: previous_response_id, retrieve, inputItems.list, delete.

import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, BASE_URL, MODEL, check, mockAnswer, mockRecord, prompt,
         run, tokens, usageOf } from './lib/check.mjs';
import { assertEvents, assertPart, assertResponse }
    from './lib/responses.mjs';
import { ARGS, WEATHER, getWeather, proseAfter, weatherQuestion }
    from './lib/tools.mjs';

const client = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY,
                            maxRetries: 0, timeout: 20000 });

// a model the mock reasons with
const REASONER = 'o4-mini';

const tools = [{ type: 'function', ...WEATHER, strict: true }];

function usage(u) {
    return { prompt: u.input_tokens, completion: u.output_tokens,
             total: u.total_tokens };
}

async function events(stream) {
    const all = [];

    for await (const e of stream) {
        all.push(e);
    }
    return all;
}

// the one function_call of a response: get_weather with ARGS
function weatherCall(r) {
    const calls = r.output.filter((i) => i.type === 'function_call');

    assert.equal(calls.length, 1, JSON.stringify(r.output));
    assert.match(calls[0].call_id, /^call_/);
    assert.equal(calls[0].name, WEATHER.name);
    assert.deepEqual(JSON.parse(calls[0].arguments), ARGS);
    return calls[0];
}

check('responses-openai: create, whole: output_text, message, usage',
      async () => {
    const text = prompt('whole');
    const r = await client.responses.create({ model: MODEL, input: text,
        instructions: 'Be brief.' });
    const answer = await mockAnswer(text);

    assertResponse(r, 'completed');
    assert.equal(r.model, MODEL);
    assert.equal(r.output_text, answer);
    assert.equal(r.output.length, 1);
    assert.equal(r.output[0].type, 'message');
    assert.equal(r.output[0].status, 'completed');
    assert.equal(r.output[0].content.length, 1);
    assertPart(r.output[0].content[0], answer);
    assert.deepEqual(usage(r.usage), usageOf([{ content: 'Be brief.' },
                                              { content: text }], answer));
});

check('responses-openai: create, streamed: every event typed, in order, '
      + 'the deltas are the answer', async () => {
    const text = prompt('stream');
    const all = await events(await client.responses.create({ model: MODEL,
        stream: true, input: [{ role: 'user', content: text }] }));
    const answer = await mockAnswer(text);
    const { response, items } = assertEvents(all);

    assert.ok(all.filter((e) => e.type === 'response.output_text.delta')
                 .length > 2, 'the text came in several deltas');
    assert.equal(items.length, 1);
    assert.equal(items[0].content[0].text, answer);
    assert.equal(response.status, 'completed');
    assert.equal(response.model, MODEL);
    assert.deepEqual(usage(response.usage),
                     usageOf([{ content: text }], answer));
});

check('responses-openai: responses.stream() to finalResponse()', async () => {
    const text = prompt('helper');
    const stream = client.responses.stream({ model: MODEL, input: text });
    let deltas = '';

    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });

    const r = await stream.finalResponse();
    const answer = await mockAnswer(text);

    assert.equal(deltas, answer);
    assert.equal(r.output_text, answer);
    assertResponse(r, 'completed');
});

check('responses-openai: a reasoning model: its reasoning as a summary, '
      + 'whole and streamed', async () => {
    const text = prompt('reason');
    const r = await client.responses.create({ model: REASONER, input: text });
    const rec = await mockRecord(text);

    assertResponse(r, 'completed');
    assert.deepEqual(r.output.map((i) => i.type), ['reasoning', 'message']);
    assert.deepEqual(r.output[0].summary,
                     [{ type: 'summary_text', text: rec.sent.reasoning }]);
    assert.equal(r.output_text, rec.sent.content);
    // the estimate (README, "Usage"): the reasoning counts as output
    assert.equal(r.usage.output_tokens,
                 tokens([rec.sent.content, rec.sent.reasoning]));

    const text2 = prompt('reason streamed');
    const all = await events(await client.responses.create({
        model: REASONER, input: text2, stream: true }));
    const rec2 = await mockRecord(text2);
    const { items } = assertEvents(all);

    assert.deepEqual(items.map((i) => i.type), ['reasoning', 'message']);
    assert.equal(items[0].summary[0].text, rec2.sent.reasoning);
    assert.equal(items[1].content[0].text, rec2.sent.content);
});

check('responses-openai: a function tool loop: function_call, '
      + 'function_call_output, the answer', async () => {
    const input = [{ role: 'user', content: weatherQuestion('responses') }];
    const r1 = await client.responses.create({ model: MODEL, input, tools,
                                               store: false });
    const call = weatherCall(r1);

    assertResponse(r1, 'completed');
    assert.equal(r1.output_text, '');

    input.push(...r1.output,
               { type: 'function_call_output', call_id: call.call_id,
                 output: getWeather(JSON.parse(call.arguments)) });

    const r2 = await client.responses.create({ model: MODEL, input, tools,
                                               store: false });

    assert.equal(r2.output_text, proseAfter(getWeather(ARGS)));
    assert.deepEqual(r2.output.map((i) => i.type), ['message']);
});

check('responses-openai: a streamed call: its arguments events', async () => {
    const all = await events(await client.responses.create({ model: MODEL,
        tools, stream: true, store: false,
        input: weatherQuestion('responses streamed') }));
    const { response, items } = assertEvents(all);

    assert.deepEqual(items.map((i) => i.type), ['function_call']);
    assert.equal(items[0].status, 'completed');
    weatherCall(response);
});

check('responses-openai: a bad parameter is a BadRequestError naming it',
      async () => {
    await assert.rejects(client.responses.create({ model: MODEL,
        input: 'hello', temperature: 9 }), (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
        assert.equal(e.status, 400);
        assert.equal(e.type, 'invalid_request_error');
        assert.equal(e.param, 'temperature');
        return true;
    });
    await assert.rejects(client.responses.create({ model: MODEL,
        input: [{ type: 'function_call_output', call_id: 'call_nothing',
                  output: 'x' }] }), (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
        assert.match(e.param, /^input\[0\]/);
        return true;
    });
});

check('responses-openai: an unknown model is a NotFoundError, 404',
      async () => {
    await assert.rejects(client.responses.create({ model: 'no-such-model',
        input: 'hello' }), (e) => {
        assert.ok(e instanceof OpenAI.NotFoundError, e.constructor.name);
        assert.equal(e.status, 404);
        assert.equal(e.code, 'model_not_found');
        return true;
    });
});

await run();
