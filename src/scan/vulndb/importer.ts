// `minato vulndb import`: reads a feed file and writes it to the VulnDb in batches. Formats:
// OSV (one record `.json`, a directory of them, a `.jsonl` with one per line, or an ecosystem's
// `all.zip` export read entry by entry with fflate), Debian's security tracker JSON (read one
// package at a time) and an Alpine secdb file. Nothing is parsed whole but a single record or a
// secdb file (a few MB): a 500 MB zip or tracker export stays within a few MB of memory.
//
// A record that does not parse is counted as rejected and named in the summary (the first few),
// and the import goes on: one bad entry in a feed must not block the rest.
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Unzip, UnzipInflate } from 'fflate';
import { alpineRecords } from './alpine.js';
import { readDebianTracker } from './debian.js';
import type { VulnRecord } from './model.js';
import { parseOsv } from './osv.js';
import type { UpsertCounts, VulnDb } from './store.js';

export const VULN_FORMATS = ['osv', 'debian', 'alpine'] as const;
export type VulnFormat = (typeof VULN_FORMATS)[number];

export interface ImportProgress {
  done: number;
  total: number;
  unit: 'bytes' | 'files';
  records: number;
}

export interface ImportSummary extends UpsertCounts {
  id: number;
  format: VulnFormat;
  rejected: number;
  /** The first reasons records were rejected. */
  problems: string[];
}

const BATCH = 500;
/** The largest entry of a zip read into memory (one OSV record is a few KB; a hostile zip is not). */
const MAX_ENTRY_BYTES = 32 * 1024 * 1024;

/** A record, or why one could not be read. */
type Item = VulnRecord | Error;

/** The format of a JSON file, from the name of its first member (OSV: id/modified...; Alpine: distroversion...). */
async function sniffFormat(file: string): Promise<VulnFormat> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8');
    const first = /^\s*\{\s*"((?:[^"\\]|\\.)*)"/.exec(head)?.[1];
    if (first === undefined) throw new Error(`${file} is not a JSON object: give --format, or an OSV .jsonl, .zip or directory`);
    if (['schema_version', 'id', 'modified', 'published', 'aliases', 'summary', 'details', 'affected', 'withdrawn'].includes(first)) return 'osv';
    if (['apkurl', 'archs', 'reponame', 'urlprefix', 'distroversion', 'packages'].includes(first)) return 'alpine';
    return 'debian';
  } finally {
    await handle.close();
  }
}

/** A file's text, counting bytes read as progress. */
function counted(file: string, onBytes: (n: number) => void): Readable {
  // 64 KiB reads: fflate's Unzip.push recurses once per entry a chunk completes, so a 1 MiB chunk
  // of small OSV records overflows the stack (measured); 64 KiB was also its fastest size.
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  stream.on('data', (chunk) => onBytes(chunk.length));
  return stream;
}

async function* textOf(stream: Readable): AsyncGenerator<string> {
  stream.setEncoding('utf8');
  for await (const chunk of stream) yield chunk as string;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    return new Error(`${where}: not JSON (${(err as Error).message})`);
  }
}

function osvItem(text: string, where: string): Item {
  const json = parseJson(text, where);
  if (json instanceof Error) return json;
  const r = parseOsv(json);
  return r instanceof Error ? new Error(`${where}: ${r.message}`) : r;
}

/** The `.json` entries of a zip, one at a time, as its bytes stream by. */
async function* zipItems(stream: Readable): AsyncGenerator<Item> {
  const ready: Item[] = [];
  let failure: Error | undefined;
  const unzip = new Unzip((entry) => {
    if (!entry.name.endsWith('.json')) return; // not started: skipped
    const parts: Uint8Array[] = [];
    let size = 0;
    entry.ondata = (err, chunk, final) => {
      if (err) {
        failure = new Error(`${entry.name} in the zip: ${err.message}`);
        return;
      }
      size += chunk.length;
      if (size > MAX_ENTRY_BYTES) {
        if (parts.length > 0) ready.push(new Error(`${entry.name}: larger than ${MAX_ENTRY_BYTES} bytes, skipped`));
        parts.length = 0;
        return;
      }
      parts.push(chunk);
      if (final) ready.push(osvItem(Buffer.concat(parts).toString('utf8'), entry.name));
    };
    entry.start();
  });
  unzip.register(UnzipInflate);
  for await (const chunk of stream) {
    unzip.push(chunk as Uint8Array);
    if (failure) throw failure;
    yield* ready.splice(0);
  }
  unzip.push(new Uint8Array(0), true);
  if (failure) throw failure;
  yield* ready.splice(0);
}

async function* jsonlItems(stream: Readable, file: string): AsyncGenerator<Item> {
  let n = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    n++;
    if (line.trim() !== '') yield osvItem(line, `${path.basename(file)} line ${n}`);
  }
}

async function jsonFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.json')) out.push(path.join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** Imports one file or directory; resolves with what was written. */
export async function importVulnData(store: VulnDb, file: string, options: { format?: VulnFormat; progress?: (p: ImportProgress) => void } = {}): Promise<ImportSummary> {
  const info = await stat(file).catch(() => {
    throw new Error(`${file}: no such file or directory`);
  });
  const lower = file.toLowerCase();
  const format: VulnFormat = options.format ?? (info.isDirectory() || lower.endsWith('.zip') || lower.endsWith('.jsonl') || lower.endsWith('.ndjson') ? 'osv' : await sniffFormat(file));
  const importedAt = new Date().toISOString();
  const counts = { added: 0, updated: 0, unchanged: 0, rejected: 0 };
  const problems: string[] = [];
  let records = 0;
  let done = 0;
  let total = info.isDirectory() ? 0 : info.size;
  const unit: ImportProgress['unit'] = info.isDirectory() ? 'files' : 'bytes';
  const report = () => options.progress?.({ done, total, unit, records });
  const onBytes = (n: number) => {
    done += n;
  };

  async function* items(): AsyncGenerator<Item> {
    if (info.isDirectory()) {
      if (format !== 'osv') throw new Error(`${file} is a directory: only OSV records come as a directory of .json files`);
      const files = await jsonFiles(file);
      total = files.length;
      for (const f of files) {
        yield osvItem(await readFile(f, 'utf8'), path.relative(file, f));
        done++;
      }
      return;
    }
    const stream = counted(file, onBytes);
    if (format === 'osv' && lower.endsWith('.zip')) yield* zipItems(stream);
    else if (format === 'osv' && (lower.endsWith('.jsonl') || lower.endsWith('.ndjson'))) yield* jsonlItems(stream, file);
    else if (format === 'osv') {
      let text = '';
      for await (const t of textOf(stream)) text += t;
      yield osvItem(text, path.basename(file));
    } else if (format === 'debian') yield* readDebianTracker(textOf(stream), importedAt);
    else {
      let text = '';
      for await (const t of textOf(stream)) text += t;
      const json = parseJson(text, path.basename(file));
      const parsed = json instanceof Error ? json : alpineRecords(json, importedAt);
      if (parsed instanceof Error) throw new Error(`${file}: ${parsed.message}`);
      yield* parsed;
    }
  }

  const id = await store.beginImport(format, path.resolve(file));
  let batch: VulnRecord[] = [];
  const flush = async () => {
    const c = await store.upsert(batch);
    counts.added += c.added;
    counts.updated += c.updated;
    counts.unchanged += c.unchanged;
    batch = [];
    report();
  };
  try {
    for await (const item of items()) {
      if (item instanceof Error) {
        counts.rejected++;
        if (problems.length < 10) problems.push(item.message);
        continue;
      }
      records++;
      batch.push(item);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } catch (err) {
    await store.finishImport(id, counts, (err as Error).message);
    throw err;
  }
  done = total;
  report();
  await store.finishImport(id, counts, problems.length > 0 ? `${counts.rejected} records rejected; the first: ${problems[0]}` : undefined);
  return { id, format, ...counts, problems };
}
