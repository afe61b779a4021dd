// The checks' harness: each script registers checks with check(name, fn),
// then run() calls them one after the other and prints one TAP line each
// ("ok - name" / "not ok - name", "# ..." for what went wrong), after a
// "1..N" plan, for t/89-real-clients.t to turn into Test::More results.
//
// The gateway and the mock come from the environment:
//   CHATON_BASE_URL   the gateway's OpenAI base URL (http://127.0.0.1:PORT/v1)
//   CHATON_MOCK_URL   the mock backend, for what it answered (its records)

import assert from 'node:assert/strict';

export const BASE_URL = need('CHATON_BASE_URL');
export const MOCK_URL = need('CHATON_MOCK_URL');
export const API_KEY = 'sk-client-checks';
export const MODEL = 'gpt-4o';

const checks = [];

function need(name) {
    const v = process.env[name];
    if (!v) {
        console.log('1..0');
        console.log(`# ${name} is not set`);
        process.exit(2);
    }
    return v;
}

export function check(name, fn) {
    checks.push({ name, fn });
}

export async function run() {
    let failed = 0;

    console.log(`1..${checks.length}`);

    for (const { name, fn } of checks) {
        try {
            await fn();
            console.log(`ok - ${name}`);
        } catch (e) {
            failed++;
            console.log(`not ok - ${name}`);
            for (const line of String(e?.stack ?? e).split('\n')) {
                console.log(`# ${line}`);
            }
        }
    }

    process.exitCode = failed ? 1 : 0;
}

// A prompt no other check sends, so its record at the mock is found by it.
let nprompt = 0;

export function prompt(what) {
    return `${what} #${process.pid}-${++nprompt}`;
}

// The mock's request whose last user message is `text` (once its answer is
// complete): { json: what the gateway sent, sent: { content, ... } }.
export async function mockRecord(text) {
    const end = Date.now() + 5000;
    let last;

    while (Date.now() < end) {
        const res = await fetch(`${MOCK_URL}/__mock/requests?route=chats`);
        assert.equal(res.status, 200, 'the mock answers its records');

        const recs = (await res.json()).filter((r) => {
            const msgs = r.json?.messages ?? [];
            const users = msgs.filter((m) => m.role === 'user');
            return users.length && users[users.length - 1].content === text;
        });

        assert.ok(recs.length <= 1, `one backend request for "${text}"`);
        last = recs[0];
        if (last?.t_end) {
            return last;
        }
        await new Promise((r) => setTimeout(r, 50));
    }

    assert.fail(`no finished backend request for "${text}" (${!!last})`);
}

// What the mock answers by default to a last user message, exactly: its
// record's text, which must have the default answer's shape.
export async function mockAnswer(text) {
    const rec = await mockRecord(text);
    const answer = rec.sent.content;

    assert.equal(typeof answer, 'string', 'the mock kept its answer');
    assert.ok(answer.startsWith(`You said: ${text}.\nDetails: caf\u00e9`),
              `the mock's default answer: ${answer.slice(0, 80)}`);
    return answer;
}

// The gateway's usage estimate (README, "Usage is estimated"): a token per
// 4 ASCII bytes, rounded up, plus one per other character; a message
// counts 12 more ASCII bytes for its role and framing.
export function tokens(texts, framing = 0) {
    let ascii = framing;
    let other = 0;

    for (const t of texts) {
        for (const byte of Buffer.from(t, 'utf8')) {
            if (byte < 0x80) {
                ascii++;
            } else if ((byte & 0xc0) !== 0x80) {
                other++;
            }
        }
    }

    return Math.ceil(ascii / 4) + other;
}

export function usageOf(messages, answer) {
    const prompt = tokens(messages.map((m) => m.content), 12 * messages.length);
    const completion = tokens([answer]);

    return { prompt, completion, total: prompt + completion };
}
