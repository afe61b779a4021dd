// What the Responses checks (responses-*.mjs) hold a stream and a response
// object to: the fields the official openai SDK's types (openai 6.49,
// resources/responses/responses.d.ts) mark required, and the event
// grammar of OpenAI's API reference (Streaming events): response.created,
// response.in_progress, then each output item in turn (added, its part or
// arguments events, done), then one terminal event.

import assert from 'node:assert/strict';

// event type -> its required fields besides type and sequence_number
const EVENT_FIELDS = {
    'response.created': ['response'],
    'response.in_progress': ['response'],
    'response.output_item.added': ['item', 'output_index'],
    'response.output_item.done': ['item', 'output_index'],
    'response.content_part.added':
        ['content_index', 'item_id', 'output_index', 'part'],
    'response.content_part.done':
        ['content_index', 'item_id', 'output_index', 'part'],
    'response.output_text.delta':
        ['content_index', 'delta', 'item_id', 'logprobs', 'output_index'],
    'response.output_text.done':
        ['content_index', 'item_id', 'logprobs', 'output_index', 'text'],
    'response.function_call_arguments.delta':
        ['delta', 'item_id', 'output_index'],
    'response.function_call_arguments.done':
        ['arguments', 'item_id', 'name', 'output_index'],
    'response.reasoning_summary_part.added':
        ['item_id', 'output_index', 'part', 'summary_index'],
    'response.reasoning_summary_part.done':
        ['item_id', 'output_index', 'part', 'summary_index'],
    'response.reasoning_summary_text.delta':
        ['delta', 'item_id', 'output_index', 'summary_index'],
    'response.reasoning_summary_text.done':
        ['item_id', 'output_index', 'summary_index', 'text'],
    'response.completed': ['response'],
    'response.incomplete': ['response'],
    'response.failed': ['response'],
};

// Response, without the SDK's own output_text
const RESPONSE_FIELDS = ['id', 'created_at', 'error', 'incomplete_details',
    'instructions', 'metadata', 'model', 'object', 'output',
    'parallel_tool_calls', 'temperature', 'tool_choice', 'tools', 'top_p'];

const ITEM_FIELDS = {
    message: ['id', 'content', 'role', 'status'],
    reasoning: ['id', 'summary'],
    function_call: ['arguments', 'call_id', 'name'],
};

const USAGE_FIELDS = ['input_tokens', 'input_tokens_details',
    'output_tokens', 'output_tokens_details', 'total_tokens'];

function has(o, fields, what) {
    for (const f of fields) {
        assert.ok(o != null && f in o, `${what} has "${f}"`);
    }
}

// a response object as OpenAI's API has it; status as given
export function assertResponse(r, status) {
    has(r, RESPONSE_FIELDS, 'the response');
    assert.equal(r.object, 'response');
    assert.match(r.id, /^resp_/);
    assert.equal(r.status, status);
    assert.ok(Number.isInteger(r.created_at), 'created_at in seconds');
    assert.ok(Math.abs(r.created_at - Date.now() / 1000) < 600,
              `created_at ${r.created_at} is now`);

    for (const item of r.output) {
        assertItem(item);
    }
    if (status !== 'in_progress') {
        has(r.usage, USAGE_FIELDS, 'the usage');
        assert.equal(r.usage.total_tokens,
                     r.usage.input_tokens + r.usage.output_tokens);
    }
}

export function assertItem(item) {
    assert.ok(ITEM_FIELDS[item.type], `an output item of type ${item.type}`);
    has(item, ITEM_FIELDS[item.type], `a ${item.type} item`);

    if (item.type === 'message') {
        assert.equal(item.role, 'assistant');
        for (const part of item.content) {
            assertPart(part, part.text);
        }
    } else if (item.type === 'function_call') {
        assert.match(item.call_id, /^call_/);
        assert.equal(typeof item.arguments, 'string');
    }
}

// an output_text part of that text, no annotations
export function assertPart(part, text) {
    assert.equal(part.type, 'output_text');
    assert.equal(part.text, text);
    assert.deepEqual(part.annotations, []);
}

// The events of one stream, as the SDK yields them: every field the types
// require, sequence_number 0, 1, 2, ..., the grammar, the deltas joining
// into each .done's text.  Returns the terminal event's response and the
// items as their output_item.done events had them.
export function assertEvents(events) {
    const items = [];
    let i = 0;

    events.forEach((e, n) => {
        assert.ok(EVENT_FIELDS[e.type], `an event of a known type: ${e.type}`);
        has(e, EVENT_FIELDS[e.type], e.type);
        assert.equal(e.sequence_number, n, `${e.type}: sequence_number`);
    });

    const next = (type) => {
        const e = events[i++];
        assert.equal(e?.type, type, `event ${i - 1}`);
        return e;
    };
    const peek = () => events[i]?.type;

    const created = next('response.created');
    assertResponse(created.response, 'in_progress');
    assert.deepEqual(created.response.output, []);
    assert.equal(next('response.in_progress').response.id,
                 created.response.id);

    while (peek() === 'response.output_item.added') {
        const index = items.length;
        const added = next('response.output_item.added');
        const id = added.item.id;

        assert.equal(added.output_index, index);
        assert.equal(added.item.status ?? 'in_progress', 'in_progress');
        assertItem(added.item);

        let text = '';
        const at = (e) => {
            assert.equal(e.output_index, index, `${e.type}: output_index`);
            assert.equal(e.item_id, id, `${e.type}: item_id`);
            return e;
        };

        if (added.item.type === 'message') {
            assert.deepEqual(added.item.content, []);
            assertPart(at(next('response.content_part.added')).part, '');
            while (peek() === 'response.output_text.delta') {
                text += at(next('response.output_text.delta')).delta;
            }
            assert.equal(at(next('response.output_text.done')).text, text);
            assertPart(at(next('response.content_part.done')).part, text);
        } else if (added.item.type === 'reasoning') {
            assert.deepEqual(added.item.summary, []);
            at(next('response.reasoning_summary_part.added'));
            while (peek() === 'response.reasoning_summary_text.delta') {
                text += at(next('response.reasoning_summary_text.delta'))
                            .delta;
            }
            assert.equal(at(next('response.reasoning_summary_text.done')).text,
                         text);
            assert.equal(at(next('response.reasoning_summary_part.done'))
                             .part.text, text);
        } else {
            assert.equal(added.item.arguments, '');
            while (peek() === 'response.function_call_arguments.delta') {
                text += at(next('response.function_call_arguments.delta'))
                            .delta;
            }
            const done = at(next('response.function_call_arguments.done'));
            assert.equal(done.arguments, text);
            assert.equal(done.name, added.item.name);
        }

        const done = next('response.output_item.done');

        assert.equal(done.output_index, index);
        assert.equal(done.item.id, id);
        assert.equal(done.item.type, added.item.type);
        assertItem(done.item);
        assert.equal(itemText(done.item), text,
                     `the ${done.item.type} item holds what its deltas said`);
        items.push(done.item);
    }

    const end = events[i++];

    assert.ok(['response.completed', 'response.incomplete',
               'response.failed'].includes(end?.type),
              `a terminal event, not ${end?.type}`);
    assert.equal(i, events.length, 'nothing after the terminal event');
    assert.equal(end.response.id, created.response.id);
    assertResponse(end.response, end.type.slice('response.'.length));
    assert.deepEqual(end.response.output, items,
                     'the response holds the items streamed');

    return { response: end.response, items };
}

// a message's text, a reasoning item's summary, a call's arguments
export function itemText(item) {
    if (item.type === 'message') {
        return item.content.map((p) => p.text).join('');
    }
    if (item.type === 'reasoning') {
        return item.summary.map((p) => p.text).join('');
    }
    return item.arguments;
}
