// Prints, as one JSON object, what the @huggingface/gguf package reads from a local GGUF file:
//   {"version", "tensor_count", "kv_count", "metadata": {key: {"type", "subType"?, "value"}},
//    "tensors": [{"name", "shape", "dtype", "offset"}], "tensorDataOffset"}
// BigInt values are printed as numbers when they are safe integers, else as strings.
// Usage: node tests/gguf_read.mjs FILE.gguf   (after `npm install --prefix tests`)
import { gguf } from "@huggingface/gguf";

const path = process.argv[2];
if (!path) {
	console.error("usage: node gguf_read.mjs FILE.gguf");
	process.exit(2);
}

const plain = (v) => {
	if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
	if (Array.isArray(v)) return v.map(plain);
	return v;
};

try {
	const { typedMetadata, tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true, typedMetadata: true });
	const metadata = {};
	for (const [key, entry] of Object.entries(typedMetadata)) {
		if (key === "version" || key === "tensor_count" || key === "kv_count") continue;
		const out = { type: entry.type, value: plain(entry.value) };
		if (entry.subType !== undefined) out.subType = entry.subType;
		metadata[key] = out;
	}
	const result = {
		version: plain(typedMetadata.version.value),
		tensor_count: plain(typedMetadata.tensor_count.value),
		kv_count: plain(typedMetadata.kv_count.value),
		metadata,
		tensors: tensorInfos.map((t) => ({ name: t.name, shape: plain(t.shape), dtype: t.dtype, offset: plain(t.offset) })),
		tensorDataOffset: plain(tensorDataOffset),
	};
	process.stdout.write(JSON.stringify(result) + "\n");
} catch (e) {
	console.error(`error: ${path}: ${e.message}`);
	process.exit(1);
}
