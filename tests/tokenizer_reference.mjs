// Reference tokenizer for tests/test_tokenizer.py: the JS port of Hugging Face tokenizers
// (@lenml/tokenizers) loaded from a tokenizer.json + tokenizer_config.json directory.
// Usage: node tests/tokenizer_reference.mjs DIR ITEMS.json OUT.json
// ITEMS.json is a JSON array; each item is a string, or {"b64": "..."} for raw bytes that Node
// decodes itself (TextDecoder, non-fatal: invalid UTF-8 becomes U+FFFD) before encoding.
// OUT.json gets one object per item: {"ids", "pieces", "decoded"} (+ "text" for b64 items), where
//   ids     = tokenizer(text, add_special_tokens=False)  (added tokens in the text are matched)
//   pieces  = convert_ids_to_tokens(ids)
//   decoded = decode(ids, skip_special_tokens=False) (clean_up_tokenization_spaces from the config;
//             "" for no ids, where the JS port would throw).
import { readFileSync, writeFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, itemsFile, outFile] = process.argv.slice(2);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const out = JSON.parse(readFileSync(itemsFile, "utf8")).map((item) => {
  const text = typeof item === "string" ? item : utf8.decode(Buffer.from(item.b64, "base64"));
  const ids = tok.encode(text, { add_special_tokens: false });
  const r = {
    ids,
    pieces: tok.model.convert_ids_to_tokens(ids),
    decoded: ids.length ? tok.decode(ids, { skip_special_tokens: false }) : "",
  };
  if (typeof item !== "string") r.text = text;
  return r;
});
writeFileSync(outFile, JSON.stringify(out));
