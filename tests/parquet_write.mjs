// Writes the parquet files tests/test_parquet.py asks for with parquet-wasm: Apache Arrow's Rust
// parquet writer (arrow-rs) compiled to WebAssembly, fed Arrow tables built with apache-arrow.
// That is the same family of writer as pyarrow's (Arrow C++), which wrote the hub's files, and
// shares no code with hyparquet, the reader the converter uses. It then reads each file's footer
// back with the same arrow-rs library and prints, as JSON, what the file holds: its rows, rows
// per row group, the codecs of its column chunks, its leaf columns and the writer's name.
//
//   node tests/parquet_write.mjs SPEC.json     (run in tests/, where node_modules is)
//
// SPEC: a list of {path, columns: [[name, type], ...], rows: [{...}], codec, row_group_size,
// page_size?, dictionary?, writer_version? ("V1" | "V2"), list_element? ("element" | "item")}.
// Instead of rows, {"synthetic": {"rows": N, "words": W}} makes N ultrachat rows of about W
// random words each here (prompt_id "0", "1", ...), for a file too big to pass as JSON.
// type: "string", "double", "int64", "messages" (list<struct<content: string, role: string>>),
// "list<string>". Every field is nullable, as pyarrow writes them. pyarrow >= 13 names a list's
// element "element" (the parquet spec's name), older pyarrow "item": both are written here.
import fs from 'node:fs'
import * as arrow from 'apache-arrow'
import * as pw from 'parquet-wasm'

const str = () => new arrow.Utf8()

function arrowType(type, listElement) {
  if (type === 'string') return str()
  if (type === 'double') return new arrow.Float64()
  if (type === 'int64') return new arrow.Int64()
  if (type === 'messages') {
    const msg = new arrow.Struct([new arrow.Field('content', str(), true), new arrow.Field('role', str(), true)])
    return new arrow.List(new arrow.Field(listElement, msg, true))
  }
  if (type === 'list<string>') return new arrow.List(new arrow.Field(listElement, str(), true))
  throw new Error(`unknown type ${type}`)
}

function synthetic({ rows, words }) {
  let seed = 17
  const word = () => 'w' + (seed = (seed * 1103515245 + 12345) % 2147483648).toString(36)
  const text = k => Array.from({ length: k }, word).join(' ')
  return Array.from({ length: rows }, (_, i) => {
    const prompt = text(words >> 3)
    return { prompt, prompt_id: String(i), messages: [{ content: prompt, role: 'user' },
      { content: text(words >> 1), role: 'assistant' }, { content: text(words >> 3), role: 'user' },
      { content: text(words >> 2), role: 'assistant' }] }
  })
}

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const report = []
for (const f of spec) {
  if (f.synthetic) f.rows = synthetic(f.synthetic)
  const fields = f.columns.map(([name, type]) => new arrow.Field(name, arrowType(type, f.list_element || 'element'), true))
  const schema = new arrow.Schema(fields)
  const data = {}
  for (const field of fields) {
    let values = f.rows.map(r => r[field.name] ?? null)
    if (field.type instanceof arrow.Int64) values = values.map(v => (v === null ? null : BigInt(v)))
    data[field.name] = arrow.vectorFromArray(values, field.type)
  }
  const table = new arrow.Table(schema, data)
  let props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression[f.codec])
    .setMaxRowGroupSize(f.row_group_size)
    .setDictionaryEnabled(f.dictionary ?? true)
    .setWriterVersion(pw.WriterVersion[f.writer_version || 'V1'])
  if (f.page_size) props = props.setDataPageSizeLimit(f.page_size)
  const bytes = pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props.build())
  fs.writeFileSync(f.path, bytes)

  const file = await pw.ParquetFile.fromFile(new Blob([fs.readFileSync(f.path)]))
  const meta = file.metadata()
  const groups = meta.rowGroups()
  report.push({
    path: f.path,
    rows: meta.fileMetadata().numRows(),
    created_by: meta.fileMetadata().createdBy(),
    row_groups: groups.map(g => g.numRows()),
    codecs: [...new Set(groups.flatMap(g => g.columns().map(c => pw.Compression[c.compression()])))],
    column_paths: groups[0].columns().map(c => c.columnPath().join('.')),
  })
}
process.stdout.write(JSON.stringify(report) + '\n')
