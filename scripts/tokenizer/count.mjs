// The reference counter of the tokenizer's accuracy test: OpenAI's
// tiktoken (its Rust core, as WebAssembly) counts each text it is given,
// one JSON string a line on stdin, one count a line on stdout.  Text is
// counted as ordinary text (special tokens' names are plain text).

import { createInterface } from "node:readline";
import { get_encoding } from "tiktoken";

const enc = get_encoding("o200k_base");
const out = [];

for await (const line of createInterface({ input: process.stdin })) {
    out.push(enc.encode_ordinary(JSON.parse(line)).length);
}

enc.free();
process.stdout.write(out.map((n) => `${n}\n`).join(""));
