// Claude Code (@anthropic-ai/claude-code, `claude -p`) against the gateway's
// /v1/messages, as README's recipe sets it up: ANTHROPIC_BASE_URL, a key,
// models of the alias table, its telemetry, error reports and updates off,
// a throwaway HOME (no user settings) and working directory.  It streams
// /v1/messages?beta=true with its ~20 tools offered and a long system text;
// the checks: it answers a prompt with the mock's answer, and it completes
// a task that needs one call of its Bash tool (the mock calls the tool as
// the marker says, Claude Code runs the command and sends its output back
// as a tool_result, the mock quotes it).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { API_KEY, BASE_URL, MOCK_URL, check, prompt, run }
    from './lib/check.mjs';
import { callMarker, proseAfter } from './lib/tools.mjs';

const CLI = createRequire(import.meta.url)
    .resolve('@anthropic-ai/claude-code/cli.js');

// names of the alias table (Claude Code's defaults, claude-sonnet-4-6 and
// claude-haiku-4-5, are not in it)
const MODEL = 'claude-3-7-sonnet-20250219';
const SMALL_MODEL = 'claude-3-haiku-20240307';

// `claude -p text --output-format json` in a fresh HOME and directory:
// its result object
function claude(text, ...args) {
    const home = mkdtempSync(join(tmpdir(), 'chaton-claude-code-'));
    const env = {
        PATH: process.env.PATH,
        HOME: home,
        TMPDIR: home,
        // the gateway's root: Claude Code adds /v1/messages itself
        ANTHROPIC_BASE_URL: BASE_URL.replace(/\/v1\/?$/, ''),
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_MODEL: MODEL,
        ANTHROPIC_SMALL_FAST_MODEL: SMALL_MODEL,
        ANTHROPIC_DEFAULT_HAIKU_MODEL: SMALL_MODEL,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        // anything it would fetch from elsewhere fails at once, here
        HTTPS_PROXY: 'http://127.0.0.1:9',
        HTTP_PROXY: 'http://127.0.0.1:9',
        NO_PROXY: '127.0.0.1,localhost',
    };

    return new Promise((resolve, reject) => {
        const argv = [CLI, '-p', text, '--output-format', 'json', ...args];
        const opts = { cwd: home, env, timeout: 40000, maxBuffer: 1 << 24 };
        const child = execFile(process.execPath, argv, opts,
                               (err, stdout, stderr) => {
            rmSync(home, { recursive: true, force: true });
            if (err) {
                reject(new Error(`claude: ${err.message}\n${stdout}`
                                 + `\n${stderr}`));
                return;
            }
            try {
                resolve(JSON.parse(stdout));
            } catch (e) {
                reject(new Error(`claude printed no JSON: ${stdout}`));
            }
        });

        // with stdin open, claude -p waits seconds for more prompt there
        child.stdin.end();
    });
}

// the mock's records of the chats of the run whose prompt holds `tag`, in
// order (the first user message: Claude Code's own text blocks, then the
// prompt; the gateway joins them)
async function mockRecords(tag) {
    const res = await fetch(`${MOCK_URL}/__mock/requests?route=chats`);

    assert.equal(res.status, 200, 'the mock answers its records');

    return (await res.json()).filter((r) => {
        const users = (r.json?.messages ?? []).filter((m) => m.role === 'user');
        return users.length && users[0].content.includes(tag);
    });
}

check('claude-code: claude -p answers a prompt with the model\'s answer',
      async () => {
    const text = prompt('Say hello, Claude Code');
    const out = await claude(text);
    const recs = await mockRecords(text);

    assert.equal(out.is_error, false, JSON.stringify(out));
    assert.equal(recs.length, 1, 'one backend request');

    const rec = recs[0];
    const users = rec.json.messages.filter((m) => m.role === 'user');

    assert.equal(rec.json.model, 'claude-3-7-sonnet');
    assert.ok(users[users.length - 1].content.endsWith(text),
              'the prompt is the last text of the last user message');
    assert.ok(rec.sent.tools.offered.includes('Bash'),
              'its tools are offered (Bash among them)');
    assert.match(rec.sent.content, /^You said: /);
    assert.equal(out.result, rec.sent.content);
});

check('claude-code: a task with one Bash call: run, tool_result, answer',
      async () => {
    // the shell computes 42: only a command that ran prints it
    const tag = prompt('Run it');
    const text = `${tag} `
                 + callMarker('Bash', { command: 'echo chaton-ok-$((6*7))' });
    const out = await claude(text, '--allowedTools', 'Bash');
    const recs = await mockRecords(tag);

    assert.equal(out.is_error, false, JSON.stringify(out));
    assert.equal(out.num_turns, 2);
    assert.equal(out.result, proseAfter('chaton-ok-42'));

    assert.equal(recs.length, 2, 'two backend requests: the call, the answer');
    assert.equal(recs[0].sent.tools.calls[0].name, 'Bash');
    assert.deepEqual(recs[1].sent.tools.results.map((r) => r.content),
                     ['chaton-ok-42'], 'the command\'s output came back');
});

await run();
