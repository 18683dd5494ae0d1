#!/usr/bin/env node
// The Hugging Face hub's parquet files of HuggingFaceH4/ultrachat_200k and
// HuggingFaceH4/ultrafeedback_binarized -> the JSONL this trainer reads: one JSON object a line,
// every column of the file under its own name, in the file's column order.
//
//   npm ci --prefix scripts/parquet            # once: hyparquet + hyparquet-compressors, pinned
//   node scripts/parquet/parquet_to_jsonl.mjs 'uc200k/data/train_sft-*.parquet' ultrachat_train_sft.jsonl
//   node scripts/parquet/parquet_to_jsonl.mjs 'ufb/data/train_prefs-*.parquet' ufb_train_prefs.jsonl
//
// INPUT... OUT: each INPUT is a parquet file, a glob (quoted, so that this script expands it;
// wildcards in the file name only) or a directory holding the shards of one split; together they
// are one dataset, read in the order given (each glob or directory sorted). A glob or a directory
// must find every shard of a split named NAME-00000-of-00003*.parquet. Every file must have one of
// the two datasets' schemas (FORMATS.md 7.1, 7.2), the same one. A line is what Python's
// json.dumps(row, ensure_ascii=False) writes for the row that pyarrow's to_pylist() gives (doubles
// as Python prints them: 8.0, 1e-05), except that a NaN or infinite double becomes null (JSON has
// no NaN; the trainer does not read the scores).
//
// Rows the trainer would refuse as malformed are skipped and counted by reason: a null where it
// reads messages (SFT: "messages"; preference: "chosen", "rejected"), a null message, role or
// content, a role other than system/user/assistant, a string holding U+0000. Nothing else is
// judged here: rows the trainer skips itself (last message not the assistant's, ...) are written.
//
// Memory: rows are read one row group at a time (hyparquet's parquetReadObjects with rowStart /
// rowEnd on a row group's bounds, over an AsyncBuffer that reads byte ranges of the file, never
// the whole file) and written out before the next group is read. Peak memory is therefore about
// one row group: its compressed column chunks, their decoded values, the row objects and their
// JSON text, a few times the group's uncompressed size. hyparquet cannot go finer than a row
// group without an offset index (which pyarrow does not write by default), so a file written as
// one huge row group is held whole; each file's line says how large its largest group is.
// Measured here: a 211 MB file of 40 groups of 6 MB peaks at 158 MB resident (Node itself is
// about 45 MB); the same rows as one 238 MB group, at 922 MB. tests/test_parquet.py converts a
// 26 MB file of 400-row groups with the JS heap capped at 32 MB, which one group cannot pass.
// Hugging Face's datasets library writes at most 1,000 rows to a row group by default (its
// get_writer_batch_size), a few MB for these datasets; nothing here has seen the hub's files.
//
// Errors are one line naming the file (and row group), exit status 1, and no output: the JSONL
// is written to OUT.tmp and renamed to OUT only when every file has been read.
import fs from 'node:fs'
import path from 'node:path'

const ME = 'parquet_to_jsonl'
const USAGE = `usage: node scripts/parquet/parquet_to_jsonl.mjs INPUT... OUT.jsonl
  INPUT: a parquet file, a quoted glob ('uc200k/data/train_sft-*.parquet') or a directory of one split's shards`

class Fail extends Error {}
const fail = msg => { throw new Fail(msg) }

let hyparquet, compressors
async function loadLibraries() {
  try {
    hyparquet = await import('hyparquet')
    ;({ compressors } = await import('hyparquet-compressors'))
  } catch (e) {
    fail(`cannot load hyparquet (${e.code || e.message}): run  npm ci --prefix scripts/parquet  first`)
  }
}

// ---- the inputs -----------------------------------------------------------------------------

const GLOB = /[*?[]/

function globRegex(pattern) {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) { re += '\\['; continue }
      let set = pattern.slice(i + 1, end)
      if (set[0] === '!') set = '^' + set.slice(1)
      re += '[' + set.replace(/\\/g, '\\\\') + ']'
      i = end
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&')
  }
  return new RegExp(re + '$')
}

function parquetFilesIn(dir) {
  return fs.readdirSync(dir).filter(n => n.endsWith('.parquet')).sort().map(n => path.join(dir, n))
}

// the hub's shard names: SPLIT-00000-of-00003.parquet, or with a hash: SPLIT-00000-of-00003-3f2a....parquet
const SHARD = /^(.+)-(\d{5})-of-(\d{5})(?:-[^/]*)?\.parquet$/

function expandInputs(args) {
  const files = [], listed = new Set() // listed: found by a glob or in a directory, not named
  for (const a of args) {
    if (GLOB.test(path.basename(a))) {
      const dir = path.dirname(a)
      if (GLOB.test(dir)) fail(`${a}: wildcards are read in the file name only, not in ${dir}`)
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) fail(`${a}: no directory ${dir}`)
      const re = globRegex(path.basename(a))
      const hits = fs.readdirSync(dir).filter(n => re.test(n)).sort().map(n => path.join(dir, n))
      if (!hits.length) fail(`${a}: no file matches`)
      files.push(...hits)
      hits.forEach(f => listed.add(f))
    } else if (fs.existsSync(a) && fs.statSync(a).isDirectory()) {
      const hits = parquetFilesIn(a)
      if (!hits.length) fail(`${a}: the directory holds no .parquet file`)
      const splits = [...new Set(hits.map(f => (SHARD.exec(path.basename(f)) || [])[1]).filter(Boolean))]
      if (splits.length > 1)
        fail(`${a}: the directory holds the shards of ${splits.length} splits (${splits.join(', ')}): ` +
             `name one, e.g. '${path.join(a, splits[0])}-*.parquet'`)
      files.push(...hits)
      hits.forEach(f => listed.add(f))
    } else if (!fs.existsSync(a)) {
      fail(`${a}: no such file`)
    } else {
      files.push(a)
    }
  }
  const seen = new Set()
  const unique = files.filter(f => { const r = fs.realpathSync(f); return !seen.has(r) && seen.add(r) })
  // a glob or a directory finds every shard of a split, or it is an error (a file named on its
  // own is taken as it is: one shard for a quick try is fine)
  const sets = new Map()
  for (const f of unique) {
    const m = SHARD.exec(path.basename(f))
    if (!m || !listed.has(f)) continue
    const key = `${path.dirname(f)}/${m[1]}-*-of-${m[3]}`
    if (!sets.has(key)) sets.set(key, new Set())
    sets.get(key).add(Number(m[2]))
  }
  for (const [key, have] of sets) {
    const total = Number(key.slice(key.lastIndexOf('-of-') + 4))
    const missing = []
    for (let i = 0; i < total; i++) if (!have.has(i)) missing.push(String(i).padStart(5, '0'))
    if (missing.length)
      fail(`${key}.parquet: ${missing.length} of ${total} shards missing (${missing.slice(0, 5).join(', ')}` +
           `${missing.length > 5 ? ', ...' : ''}): an incomplete download?`)
  }
  return unique
}

// ---- the two schemas ------------------------------------------------------------------------

const MESSAGES = 'list<struct<content: string, role: string>>'
const SCHEMAS = {
  sft: {
    name: 'ultrachat_200k',
    columns: { prompt: 'string', prompt_id: 'string', messages: MESSAGES },
    chat: ['messages'], // the columns the trainer reads messages from
  },
  pref: {
    name: 'ultrafeedback_binarized',
    columns: {
      prompt: 'string', prompt_id: 'string', chosen: MESSAGES, rejected: MESSAGES, messages: MESSAGES,
      score_chosen: 'double', score_rejected: 'double',
    },
    chat: ['chosen', 'rejected'],
  },
}

// A column's type as a short string; struct fields sorted, so that field order does not matter.
function typeOf(node) {
  const e = node.element
  const rep = e.repetition_type === 'REPEATED' ? 'repeated ' : ''
  if (!node.children.length) {
    if (e.type === 'BYTE_ARRAY' && (e.converted_type === 'UTF8' || e.logical_type?.type === 'STRING'))
      return rep + 'string'
    return rep + String(e.type).toLowerCase() + (e.converted_type ? `(${e.converted_type.toLowerCase()})` : '')
  }
  // the standard 3-level list, as pyarrow writes it: <list> (LIST) { repeated group { <element> } }
  const c = node.children
  if (e.converted_type === 'LIST' && c.length === 1 && c[0].element.repetition_type === 'REPEATED' &&
      c[0].children.length === 1)
    return rep + `list<${typeOf(c[0].children[0])}>`
  if (e.converted_type === 'LIST' || e.logical_type?.type === 'LIST') return rep + 'list(non-standard layout)'
  const fields = c.map(k => `${k.element.name}: ${typeOf(k)}`).sort()
  return rep + `struct<${fields.join(', ')}>`
}

function schemaKind(file, metadata) {
  const root = hyparquet.parquetSchema(metadata)
  const have = root.children.map(k => [k.element.name, typeOf(k)])
  const names = have.map(([n]) => n)
  for (const [kind, s] of Object.entries(SCHEMAS)) {
    const want = Object.keys(s.columns)
    if (names.length !== want.length || !want.every(n => names.includes(n))) continue
    const wrong = have.filter(([n, t]) => t !== s.columns[n])
    if (wrong.length)
      fail(`${file}: columns of the ${s.name} schema, but ` +
           wrong.map(([n, t]) => `"${n}" is ${t}, not ${s.columns[n]}`).join('; '))
    return kind
  }
  const show = o => Object.keys(o).join(', ')
  fail(`${file}: neither the ultrachat_200k schema (${show(SCHEMAS.sft.columns)}) nor the ` +
       `ultrafeedback_binarized one (${show(SCHEMAS.pref.columns)}): its columns are ` +
       have.map(([n, t]) => `${n}: ${t}`).join(', '))
}

async function openParquet(file) {
  const size = fs.statSync(file).size
  const fd = fs.openSync(file, 'r')
  const head = Buffer.alloc(4), tail = Buffer.alloc(4)
  if (size >= 4) fs.readSync(fd, head, 0, 4, 0)
  if (size >= 8) fs.readSync(fd, tail, 0, 4, size - 4)
  fs.closeSync(fd)
  if (head.toString('latin1') !== 'PAR1') fail(`${file}: not a parquet file (it does not start with PAR1)`)
  if (size < 12 || tail.toString('latin1') !== 'PAR1')
    fail(`${file}: truncated: a parquet file ends with its footer and PAR1, this one (${size} bytes) does not; ` +
         `download it again`)
  const buffer = await hyparquet.asyncBufferFromFile(file)
  let metadata
  try {
    metadata = await hyparquet.parquetMetadataAsync(buffer)
  } catch (e) {
    fail(`${file}: unreadable parquet footer: ${e.message}`)
  }
  return { file, buffer, metadata, kind: schemaKind(file, metadata) }
}

// ---- rows -----------------------------------------------------------------------------------

// Python's repr of a float (what json.dumps writes): shortest round-trip digits, positional for
// exponents -4..15 with at least one digit after the point, else d.ddde+XX.
function pyFloat(v) {
  if (typeof v !== 'number') return v === null || v === undefined ? 'null' : fail(`a double column holds ${typeof v}`)
  if (!Number.isFinite(v)) return 'null'
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0'
  const [m, e] = v.toExponential().split('e')
  const exp = Number(e), neg = m[0] === '-'
  const digits = m.replace('-', '').replace('.', '')
  let s
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) s = digits.slice(0, exp + 1).padEnd(exp + 1, '0') + '.' + (digits.slice(exp + 1) || '0')
    else s = '0.' + '0'.repeat(-exp - 1) + digits
  } else {
    s = digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + (exp < 0 ? '-' : '+') +
        String(Math.abs(exp)).padStart(2, '0')
  }
  return (neg ? '-' : '') + s
}

// json.dumps(x, ensure_ascii=False)'s layout: ", " and ": " separators; JSON.stringify's string
// escapes are the same as Python's for any string valid UTF-8 can hold.
function pyJson(v) {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']'
  if (typeof v === 'object') return '{' + Object.keys(v).map(k => JSON.stringify(k) + ': ' + pyJson(v[k])).join(', ') + '}'
  return JSON.stringify(v)
}

const ROLES = new Set(['system', 'user', 'assistant'])

function hasNul(v) {
  if (typeof v === 'string') return v.includes('\u0000')
  if (Array.isArray(v)) return v.some(hasNul)
  if (v && typeof v === 'object') return Object.values(v).some(hasNul)
  return false
}

// Why the trainer could not read this row, or null.
function whyUnusable(row, schema) {
  for (const col of schema.chat) {
    const msgs = row[col]
    if (msgs === null || msgs === undefined) return `null "${col}"`
    if (!Array.isArray(msgs)) return `"${col}" is not a list`
    for (const m of msgs) {
      if (m === null || typeof m !== 'object') return `a null message in "${col}"`
      if (typeof m.role !== 'string' || typeof m.content !== 'string') return `a null role or content in "${col}"`
      if (!ROLES.has(m.role)) return `a role other than system, user or assistant in "${col}"`
    }
  }
  if (hasNul(Object.values(row))) return 'a string holding U+0000 (the trainer refuses it)'
  return null
}

// ---- main -----------------------------------------------------------------------------------

let tmpPath = null, outFd = null
function cleanUp() {
  if (outFd !== null) { try { fs.closeSync(outFd) } catch { /* already closed */ } outFd = null }
  if (tmpPath) { try { fs.unlinkSync(tmpPath) } catch { /* never made */ } tmpPath = null }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => { cleanUp(); process.stderr.write(`${ME}: interrupted, nothing written\n`); process.exit(130) })

function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf8')
  for (let at = 0; at < buf.length;) at += fs.writeSync(fd, buf, at, buf.length - at)
}

const size = n => n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`

async function main(argv) {
  if (argv.length < 2 || argv.includes('-h') || argv.includes('--help')) {
    process.stderr.write(USAGE + '\n')
    process.exit(argv.length < 2 ? 2 : 0)
  }
  const out = argv[argv.length - 1]
  if (out.endsWith('.parquet')) fail(`${out}: the last argument is the JSONL to write, not a parquet file`)
  await loadLibraries()
  const paths = expandInputs(argv.slice(0, -1))
  const outReal = path.resolve(out)
  for (const p of paths) if (path.resolve(p) === outReal) fail(`${out}: the output is also an input`)

  // every footer first: a wrong, truncated or foreign file stops the run before anything is written
  const files = []
  for (const p of paths) files.push(await openParquet(p))
  const kind = files[0].kind, schema = SCHEMAS[kind]
  for (const f of files)
    if (f.kind !== kind)
      fail(`${f.file}: the ${SCHEMAS[f.kind].name} schema, but ${files[0].file} has the ${schema.name} one: ` +
           `one output is one dataset`)

  tmpPath = out + '.tmp'
  outFd = fs.openSync(tmpPath, 'w')
  let written = 0
  const skipped = new Map()
  for (const f of files) {
    const groups = f.metadata.row_groups
    let rowStart = 0, fileRows = 0, largest = 0
    for (let g = 0; g < groups.length; g++) {
      const n = Number(groups[g].num_rows)
      largest = Math.max(largest, Number(groups[g].total_byte_size))
      const where = `${f.file}: row group ${g + 1} of ${groups.length} (the file's rows ${rowStart + 1}..${rowStart + n})`
      let rows
      try {
        rows = await hyparquet.parquetReadObjects({
          file: f.buffer, metadata: f.metadata, compressors, rowStart, rowEnd: rowStart + n,
        })
      } catch (e) {
        fail(`${where}: ${e.message}`)
      }
      if (rows.length !== n) fail(`${where}: read ${rows.length} rows, the footer says ${n}`)
      let text = ''
      for (let i = 0; i < n; i++) {
        const row = rows[i]
        const why = whyUnusable(row, schema)
        if (why) { skipped.set(why, (skipped.get(why) || 0) + 1); continue }
        const fields = Object.keys(row).map(k =>
          JSON.stringify(k) + ': ' + (schema.columns[k] === 'double' ? pyFloat(row[k]) : pyJson(row[k])))
        text += '{' + fields.join(', ') + '}\n'
        written++
        if (text.length > 1 << 20) { writeAll(outFd, text); text = '' }
      }
      if (text) writeAll(outFd, text)
      rows = null
      rowStart += n
      fileRows += n
    }
    const declared = Number(f.metadata.num_rows)
    if (fileRows !== declared) fail(`${f.file}: the row groups hold ${fileRows} rows, the footer says ${declared}`)
    console.log(`${f.file}: ${fileRows} rows in ${groups.length} row group(s), the largest ${size(largest)} uncompressed`)
  }
  fs.fsyncSync(outFd)
  fs.closeSync(outFd)
  outFd = null
  fs.renameSync(tmpPath, out)
  tmpPath = null
  const nSkipped = [...skipped.values()].reduce((a, b) => a + b, 0)
  console.log(`${out}: ${written} rows written, ${nSkipped} skipped, from ${files.length} file(s) of the ${schema.name} schema`)
  for (const [why, n] of skipped) console.log(`skipped ${n}: ${why}`)
}

main(process.argv.slice(2)).catch(e => {
  cleanUp()
  const msg = e instanceof Fail || e?.code ? e.message : `${e?.stack || e}`.split('\n')[0]
  process.stderr.write(`${ME}: ${msg}\n`)
  process.exit(1)
})
