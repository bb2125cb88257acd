// The built web UI (dist/ui, made from ui/ by `npm run build`), read into memory once at start:
// it is small (a few hundred KiB with its pre-compressed .br and .gz twins), and serving from
// memory costs no file system call per request. Vite names every asset after a hash of its
// content (assets/index-3f9a1c.js), so those can be cached for a year; index.html cannot.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the UI: dist/ui, next to dist/src/ (this file is dist/src/web/ui-files.js). */
export const BUILT_UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../ui');

export interface UiFile {
  body: Buffer;
  /** Made at build time (vite.config.ts); absent for files too small to gain from it. */
  br?: Buffer;
  gzip?: Buffer;
  contentType: string;
  /** A strong validator of the uncompressed content (each encoding gets its own suffix). */
  etag: string;
  /** A hashed asset name: its content never changes under that name. */
  immutable: boolean;
}

/** The UI's files by their path under the UI's root, without the leading slash ("index.html", "assets/x.js"). */
export type UiFiles = ReadonlyMap<string, UiFile>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Vite's default asset names: name-<8 or more base64url characters>.ext under assets/. */
const HASHED = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** The files of a built UI, or undefined when `dir` has no index.html (a build without the UI). */
export async function loadUiFiles(dir: string = BUILT_UI_DIR): Promise<UiFiles | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!names.includes('index.html')) return undefined;
  const present = new Set(names);
  const files = new Map<string, UiFile>();
  for (const name of names) {
    if (name.endsWith('.br') || name.endsWith('.gz')) continue;
    const body = await readFile(path.join(dir, name));
    const twin = (suffix: string) => (present.has(name + suffix) ? readFile(path.join(dir, name + suffix)) : Promise.resolve(undefined));
    const [br, gzip] = await Promise.all([twin('.br'), twin('.gz')]);
    files.set(name, {
      body,
      br,
      gzip,
      contentType: TYPES[path.extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: HASHED.test(name),
    });
  }
  return files;
}

/**
 * The best encoding the client accepts among those we have: br, then gzip, else none
 * (RFC 9110 §12.5.3: a coding with q=0 is refused; "*" stands for the ones not named).
 */
export function chooseEncoding(acceptEncoding: string | undefined, available: { br?: unknown; gzip?: unknown }): 'br' | 'gzip' | undefined {
  if (!acceptEncoding) return undefined;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (!coding) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(coding.trim(), Number.isFinite(value) ? value : 0);
  }
  const accepts = (coding: string) => (q.get(coding) ?? q.get('*') ?? 0) > 0;
  if (available.br && accepts('br')) return 'br';
  if (available.gzip && (accepts('gzip') || accepts('x-gzip'))) return 'gzip';
  return undefined;
}
