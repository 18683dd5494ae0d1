// Encode strings with the JS port of Hugging Face tokenizers (@lenml/tokenizers), from a
// tokenizer.json + tokenizer_config.json directory: the tests' reference tokenizer.
// Usage: node tests/tokenizer_encode.mjs DIR STRINGS.json  -> JSON array of id arrays
// (add_special_tokens=false, as `tokenizer(text, add_special_tokens=False)`).
import { readFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, stringsFile] = process.argv.slice(2);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});
const strings = JSON.parse(readFileSync(stringsFile, "utf8"));
process.stdout.write(JSON.stringify(strings.map((s) => tok.encode(s, { add_special_tokens: false }))));
