// Codex CLI (@openai/codex, `codex exec`) against the gateway's
// /v1/responses, configured as README's recipe says: a config.toml naming
// the gateway as its model provider (wire_api "responses"), the client key
// in the variable its env_key names, a throwaway CODEX_HOME and working
// directory.  It streams /v1/responses with its own tools (exec_command,
// its shell, among them; docs/codex-requests.md has what it sends).  The
// checks: it answers a prompt with the mock's answer, and it completes a
// task that needs one exec_command call (the mock calls the tool as the
// marker says, Codex runs the command in its sandbox, which writes a file,
// and sends the output back as a function_call_output; the mock quotes it).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync }
    from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { API_KEY, BASE_URL, MOCK_URL, MODEL, check, prompt, run }
    from './lib/check.mjs';
import { callMarker, proseAfter } from './lib/tools.mjs';

const CLI = createRequire(import.meta.url)
    .resolve('@openai/codex/bin/codex.js');

// README's recipe, and no retries: a refusal fails the check at once.
// `extra`: more settings.
function config(model, extra = '') {
    return `model = "${model}"
model_provider = "chaton"
${extra}
[model_providers.chaton]
name = "ngx_chaton"
base_url = "${BASE_URL}"
env_key = "CHATON_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`;
}

// `codex exec --json text` in a fresh CODEX_HOME and working directory:
// its events (JSON lines) and the contents of the files named in `read`
// afterwards (null: no such file)
function codex(text, { model = MODEL, extra, args = [], read = [] } = {}) {
    const home = mkdtempSync(join(tmpdir(), 'chaton-codex-'));
    const work = join(home, 'work');
    const env = {
        PATH: process.env.PATH,
        HOME: home,
        CODEX_HOME: home,
        CHATON_API_KEY: API_KEY,
        // anything it would fetch from elsewhere fails at once, here
        HTTPS_PROXY: 'http://127.0.0.1:9',
        HTTP_PROXY: 'http://127.0.0.1:9',
        NO_PROXY: '127.0.0.1,localhost',
    };

    mkdirSync(work);
    writeFileSync(join(home, 'config.toml'), config(model, extra));

    return new Promise((resolve, reject) => {
        const argv = [CLI, 'exec', '--json', '--ephemeral',
                      '--skip-git-repo-check', '--strict-config', ...args,
                      text];
        const opts = { cwd: work, env, timeout: 40000, maxBuffer: 1 << 24 };
        const child = execFile(process.execPath, argv, opts,
                               (err, stdout, stderr) => {
            try {
                if (err) {
                    throw new Error(`codex: ${err.message}\n${stdout}`
                                    + `\n${stderr}`);
                }

                const files = {};

                for (const name of read) {
                    try {
                        files[name] = readFileSync(join(work, name), 'utf8');
                    } catch {
                        files[name] = null;
                    }
                }
                resolve({ files, events: stdout.split('\n').filter((l) => l)
                                                .map((l) => JSON.parse(l)) });
            } catch (e) {
                reject(e);
            } finally {
                rmSync(home, { recursive: true, force: true });
            }
        });

        // with stdin open, codex exec reads more prompt there
        child.stdin.end();
    });
}

// the completed items of a run, by their type
function items(ran, type) {
    return ran.events.filter((e) => e.type === 'item.completed'
                                    && e.item.type === type)
                     .map((e) => e.item);
}

// the mock's records of the chats whose last user message holds `tag`
async function mockRecords(tag) {
    const res = await fetch(`${MOCK_URL}/__mock/requests?route=chats`);

    assert.equal(res.status, 200, 'the mock answers its records');

    return (await res.json()).filter((r) => {
        const users = (r.json?.messages ?? []).filter((m) => m.role === 'user');
        return users.some((m) => m.content.includes(tag));
    });
}

// the one backend request of a prompt's run, and Codex's answer
async function answered(text, extra) {
    const ran = await codex(text, { extra });
    const recs = await mockRecords(text);

    assert.equal(recs.length, 1, 'one backend request');

    const rec = recs[0];
    const users = rec.json.messages.filter((m) => m.role === 'user');
    const answer = items(ran, 'agent_message').map((i) => i.text);

    assert.equal(users[users.length - 1].content, text,
                 'the prompt is the last user message');
    assert.ok(ran.events.some((e) => e.type === 'turn.completed'),
              'the turn completed');
    assert.match(rec.sent.content, /^You said: /);
    assert.equal(answer.length, 1);
    return { rec, answer: answer[0] };
}

check('codex: codex exec answers a prompt, its default tools offered '
      + '(a namespace\'s among them), no web search', async () => {
    const { rec, answer } = await answered(prompt('Say hello, Codex'));
    const offered = rec.sent.tools.offered;

    assert.ok(offered.includes('exec_command'), offered.join(' '));
    assert.ok(offered.includes('multi_agent_v1.spawn_agent'),
              'the namespace multi_agent_v1\'s tools are offered');
    assert.equal(rec.json.function_web_search, false,
                 'its web_search tool is not a live one');
    assert.equal(answer, rec.sent.content);
});

check('codex: with web_search = "live", ChatOn searches and the answer '
      + 'cites its sources', async () => {
    const { rec, answer } = await answered(prompt('Search, Codex'),
                                           'web_search = "live"\n');

    assert.equal(rec.json.function_web_search, true);
    assert.ok(rec.sent.web_sources.length > 0, 'the mock found sources');
    assert.ok(answer.endsWith(rec.sent.content), answer);
    for (const { url } of rec.sent.web_sources) {
        assert.ok(answer.includes(url), `the answer cites ${url}`);
    }
});

check('codex: a task with one exec_command call: run, file written, '
      + 'function_call_output, answer', async () => {
    // the shell computes 42: only a command that ran writes it
    const tag = prompt('Write the file');
    const cmd = 'echo chaton-ok-$((6*7)) > codex-out.txt && cat codex-out.txt';
    const text = `${tag} ${callMarker('exec_command', { cmd })}`;
    // a reasoning model: its reasoning item goes back in the second request
    const ran = await codex(text, { model: 'o4-mini',
        args: ['--sandbox', 'workspace-write'], read: ['codex-out.txt'] });
    const recs = await mockRecords(tag);
    const execs = items(ran, 'command_execution');

    assert.equal(ran.files['codex-out.txt'], 'chaton-ok-42\n',
                 'the command ran and wrote its file');
    assert.equal(execs.length, 1, 'one command run');
    assert.match(execs[0].command, /echo chaton-ok-\$\(\(6\*7\)\)/);
    assert.equal(execs[0].exit_code, 0);
    assert.equal(execs[0].aggregated_output, 'chaton-ok-42\n');

    assert.equal(recs.length, 2, 'two backend requests: the call, the answer');
    assert.equal(recs[0].json.function_web_search, false);
    assert.equal(recs[0].sent.tools.calls[0].name, 'exec_command');
    // its reasoning reached Codex as summaries, and Codex's second request,
    // which carries the first reasoning item back, was served
    assert.deepEqual(items(ran, 'reasoning').map((i) => i.text),
                     recs.map((r) => r.sent.reasoning));

    const results = recs[1].sent.tools.results;

    assert.equal(results.length, 1, 'one function_call_output came back');
    assert.match(results[0].content, /exited with code 0\n.*\nchaton-ok-42\n/s);
    assert.deepEqual(items(ran, 'agent_message').map((i) => i.text),
                     [proseAfter(results[0].content)]);
});

await run();
