// Writes o200k_base's ranks, as the npm package tiktoken ships them (one
// JSON object whose "bpe_ranks" packs them a line per run of ranks:
// "<prefix> <first rank> <base64 token> <base64 token> ..."), in the
// tiktoken file format chaton_tokenizer reads: "<base64 token> <rank>"
// a line, by rank.
//
//   node convert.mjs <tiktoken's encoders/o200k_base.json> <out file>
//
// The pre-tokenization pattern the C tokenizer implements by hand
// (ngx_chaton_module/core/chaton_bpe.c) is checked too: a package whose
// pattern differs is refused rather than counted wrongly.

import { readFileSync, writeFileSync, renameSync } from "node:fs";

const pattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
    + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
    + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+"
    + "|\\s+(?!\\S)|\\s+";

const [src, out] = process.argv.slice(2);

if (!src || !out) {
    console.error("usage: node convert.mjs <o200k_base.json> <out file>");
    process.exit(2);
}

const enc = JSON.parse(readFileSync(src, "utf8"));

if (enc.pat_str !== pattern) {
    console.error(`convert.mjs: ${src}: the pre-tokenization pattern is not`
                  + " the one chaton_bpe.c implements");
    process.exit(1);
}

const lines = [];

for (const run of enc.bpe_ranks.split("\n")) {
    if (run === "") {
        continue;
    }

    const [, first, ...tokens] = run.split(" ");

    tokens.forEach((t, i) => lines.push([Number(first) + i, t]));
}

lines.sort((a, b) => a[0] - b[0]);

lines.forEach(([rank], i) => {
    if (rank !== i) {
        console.error(`convert.mjs: ${src}: rank ${i} is missing`);
        process.exit(1);
    }
});

writeFileSync(out + ".new", lines.map(([r, t]) => `${t} ${r}\n`).join(""));
renameSync(out + ".new", out);
console.error(`convert.mjs: ${lines.length} ranks in ${out}`);
