// Tool calling through LangChain.js: bindTools gets the call as the
// AIMessage's tool_calls, invoked and streamed; the tool's ToolMessage
// sent back gets the prose quoting it.

import assert from 'node:assert/strict';
import { HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';

import { API_KEY, BASE_URL, MODEL, check, run } from './lib/check.mjs';
import { ARGS, WEATHER, getWeather, proseAfter, weatherQuestion }
    from './lib/tools.mjs';

const chat = new ChatOpenAI({ model: MODEL, apiKey: API_KEY, maxRetries: 0,
                              configuration: { baseURL: BASE_URL } });

const weather = tool(getWeather, { name: WEATHER.name,
    description: WEATHER.description,
    schema: z.object({ city: z.string() }) });

const withTools = chat.bindTools([weather]);

function assertWeatherCall(msg) {
    assert.equal(msg.tool_calls.length, 1);
    assert.equal(msg.tool_calls[0].name, WEATHER.name);
    assert.deepEqual(msg.tool_calls[0].args, ARGS);
    assert.match(msg.tool_calls[0].id, /^call_/);
    assert.deepEqual(msg.invalid_tool_calls ?? [], []);
    assert.equal(msg.response_metadata.finish_reason, 'tool_calls');
}

check('tools-langchain: bindTools + invoke: the AIMessage\'s tool_calls',
      async () => {
    const msg = await withTools.invoke(weatherQuestion('invoke'));

    assertWeatherCall(msg);
});

check('tools-langchain: bindTools + stream: the chunks\' tool_calls',
      async () => {
    const chunks = [];

    for await (const chunk of await withTools.stream(
                                          weatherQuestion('stream'))) {
        chunks.push(chunk);
    }

    const whole = chunks.reduce((a, c) => a.concat(c));

    assert.ok(chunks.some((c) => c.tool_call_chunks?.length),
              'tool_call_chunks');
    assertWeatherCall(whole);
});

check('tools-langchain: the tool\'s result gets the prose answer',
      async () => {
    const question = new HumanMessage(weatherQuestion('loop'));
    const ai = await withTools.invoke([question]);

    assertWeatherCall(ai);

    const result = await weather.invoke(ai.tool_calls[0]);
    const answer = await withTools.invoke([question, ai, result]);

    assert.equal(result.tool_call_id, ai.tool_calls[0].id);
    assert.equal(answer.content, proseAfter(getWeather(ARGS)));
    assert.deepEqual(answer.tool_calls, []);
    assert.equal(answer.response_metadata.finish_reason, 'stop');
});

await run();
