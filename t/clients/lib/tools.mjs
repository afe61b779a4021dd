// What the tool-calling checks (tools-*.mjs) expect of the mock, in one
// place: the mock answers like a model calling a tool when the last user
// message holds a marker naming the tool and its arguments, and in prose
// quoting the tool's result when the last message is a tool's result.
// Adjust these when the mock's conventions change; the scripts use only
// what is exported here.

import assert from 'node:assert/strict';

export const ARGS = { city: 'Paris' };

// the marker that makes the mock call `name` with `args`
export function callMarker(name, args) {
    return `[[tool ${name} ${JSON.stringify(args)}]]`;
}

// the prose the mock answers once it has the tool's result
export function proseAfter(result) {
    return `The tool said: ${result}`;
}

// a question whose answer is a call of get_weather with ARGS
export function weatherQuestion(tag) {
    return `What is the weather in ${ARGS.city}? (${tag} #${process.pid}) `
           + callMarker('get_weather', ARGS);
}

export const WEATHER = {
    name: 'get_weather',
    description: 'The current weather in a city.',
    parameters: {
        type: 'object',
        properties: { city: { type: 'string', description: 'The city' } },
        required: ['city'],
        additionalProperties: false,
    },
};

// the tool itself: what it returns is what the mock's prose must quote
export function getWeather({ city }) {
    return `Sunny, 21 \u00b0C in ${city}`;
}

// a tool call as OpenAI's API has it: function get_weather, ARGS
export function assertWeatherCall(call) {
    assert.match(call.id, /^call_/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, WEATHER.name);
    assert.deepEqual(JSON.parse(call.function.arguments), ARGS);
}
