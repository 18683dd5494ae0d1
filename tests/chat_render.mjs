// Render conversations with the JS port of Hugging Face's apply_chat_template (a Jinja
// interpreter, @lenml/tokenizers) and tokenize the rendered text: the tests' reference for
// chat templates.
// Usage: node tests/chat_render.mjs TOKENIZER_DIR CASES.json
//   CASES.json: [{"messages": [...], "add_generation_prompt": bool}, ...]
//   prints [{"text": rendered string, "ids": tokenizer(text, add_special_tokens=False)}, ...]
import { readFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, casesFile] = process.argv.slice(2);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});
const cases = JSON.parse(readFileSync(casesFile, "utf8"));
const out = cases.map((c) => {
  const text = tok.apply_chat_template(c.messages, {
    tokenize: false,
    add_generation_prompt: !!c.add_generation_prompt,
  });
  return { text, ids: tok.encode(text, { add_special_tokens: false }) };
});
process.stdout.write(JSON.stringify(out));
