// The scanner's layer reader: streams an image's layers in order (gzip, zstd or plain tar) and
// returns the final filesystem for the few files the analyzers ask for, with OCI whiteouts
// applied. Memory stays bounded by what is kept: a file is buffered only when an analyzer wants
// its path (and it is under the size caps); every other byte is decompressed and dropped.
//
// Layers are untrusted input. Names are normalised inside the image root (absolute paths become
// relative, `..` entries are refused), symlinks are resolved only inside the kept set and never
// outside the root, a corrupt or truncated layer is an error naming the layer, and oversized
// files are skipped with a warning instead of being read.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';

/** One layer of an image, bottom first: what its descriptor says and how to read its bytes. */
export interface LayerSource {
  digest: string;
  mediaType: string;
  /** Opens the layer blob (as stored: compressed). */
  open(): Promise<Readable>;
}

/** A file of the final filesystem that an analyzer asked for. */
export interface ImageFile {
  /** Relative to the image root, no leading slash: `var/lib/dpkg/status`. */
  path: string;
  data: Buffer;
  /** The layer that last wrote the file (for a symlink: the layer that wrote its target). */
  layerDigest: string;
}

/**
 * Looks at one file's bytes as they stream past and keeps only what it returns (a Go binary's
 * build info out of 50 MB of ELF): for files found by their content, not their path.
 */
export interface Extractor {
  /** Gets the file's bytes in order; returns false once it needs no more (the rest is drained). */
  write(chunk: Buffer): boolean;
  /** The bytes to keep for this path, or undefined to keep nothing. */
  end(): Buffer | undefined;
}

export interface ReadLayersOptions {
  /** Whether a path (relative, normalised) is one an analyzer reads. Called for every entry. */
  wants(path: string): boolean;
  /**
   * For regular files `wants` declined: an extractor to stream the file through, or undefined.
   * What it returns is kept at the file's path, subject to the same whiteouts and caps.
   */
  extract?(path: string, size: number, mode: number): Extractor | undefined;
  /** Files larger than this are not read (a warning says so). */
  maxFileBytes?: number;
  /** All kept files together may not exceed this; later files are skipped with a warning. */
  maxKeptBytes?: number;
  /** Decompressed bytes over all layers; past it the read fails (a decompression bomb). */
  maxTotalBytes?: number;
}

export interface ImageFiles {
  /** The final state of every wanted file, by path (symlinks resolved to their target's bytes). */
  files: Map<string, ImageFile>;
  warnings: string[];
}

export const DEFAULT_MAX_FILE_BYTES = 128 * 1024 * 1024; // an RHEL 7 BerkeleyDB rpm Packages is ~100 MB
export const DEFAULT_MAX_KEPT_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024 * 1024;
/** zstd's own decoder refuses windows above 2^27 without --long; so do we (a hostile header could ask for 2 GB). */
const MAX_ZSTD_WINDOW = 1 << 27;
const MAX_SYMLINK_HOPS = 16;

/** A layer that cannot be read: the scan of this image fails, naming the layer and why. */
export class LayerReadError extends Error {
  constructor(
    readonly layerDigest: string,
    message: string,
  ) {
    super(`layer ${layerDigest}: ${message}`);
    this.name = 'LayerReadError';
  }
}

type Compression = 'gzip' | 'zstd' | 'none';

/**
 * What a layer media type says about its compression: 'sniff' when it names no filesystem
 * layer format we know the compression of (application/octet-stream, a missing type), undefined
 * when it is not a filesystem layer at all (a signature payload, an SBOM, a Helm chart config).
 */
export function layerCompression(mediaType: string): Compression | 'sniff' | undefined {
  const t = mediaType.toLowerCase().trim();
  if (t === '' || t === 'application/octet-stream') return 'sniff';
  // OCI: application/vnd.oci.image.layer.v1.tar[+gzip|+zstd], and the .nondistributable. variants.
  const oci = /^application\/vnd\.oci\.image\.layer\.(?:nondistributable\.)?v1\.tar(\+gzip|\+zstd)?$/.exec(t);
  if (oci) return oci[1] === '+gzip' ? 'gzip' : oci[1] === '+zstd' ? 'zstd' : 'none';
  // Docker: application/vnd.docker.image.rootfs.diff.tar.gzip and the foreign variant.
  if (/^application\/vnd\.docker\.image\.rootfs\.(?:foreign\.)?diff\.tar\.gzip$/.test(t)) return 'gzip';
  if (/^application\/vnd\.docker\.image\.rootfs\.(?:foreign\.)?diff\.tar$/.test(t)) return 'none';
  // Other tar layers (e.g. the cncf tar+gzip of some artifacts): trust the magic bytes.
  if (/tar/.test(t)) return 'sniff';
  return undefined;
}

function sniff(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * The zstd window a frame header asks for (RFC 8878 §3.1.1.1), so a hostile header cannot make
 * the decoder allocate gigabytes; undefined when the bytes are not a zstd frame header.
 */
function zstdWindowSize(head: Buffer): number | undefined {
  if (head.length < 6 || head.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const flags = head[4]!;
  const singleSegment = (flags >> 5) & 1;
  if (!singleSegment) {
    const wd = head[5]!;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  // Single segment: the window is the content size, which follows the (optional) dictionary id.
  const dictBytes = [0, 1, 2, 4][flags & 3]!;
  const fcsBytes = [1, 2, 4, 8][flags >> 6]!;
  const at = 5 + dictBytes;
  if (head.length < at + fcsBytes) return undefined;
  if (fcsBytes === 1) return head[at]!;
  if (fcsBytes === 2) return head.readUInt16LE(at) + 256;
  if (fcsBytes === 4) return head.readUInt32LE(at);
  return Number(head.readBigUInt64LE(at));
}

/** fzstd's push-based streaming decompressor as a Node Transform. */
class ZstdStream extends Transform {
  private readonly zstd = new ZstdDecompress((chunk) => {
    // fzstd may reuse its window buffer: copy before handing the bytes on.
    if (chunk.length) this.push(Buffer.from(chunk));
  });
  private checked = false;
  private head: Buffer[] = [];

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (!this.checked) {
        // Look at the first frame header before fzstd allocates its window.
        this.head.push(chunk);
        const head = Buffer.concat(this.head);
        if (head.length < 18) return done();
        this.checked = true;
        this.head = [];
        const window = zstdWindowSize(head);
        if (window !== undefined && window > MAX_ZSTD_WINDOW) throw new Error(`zstd window of ${window} bytes is larger than the ${MAX_ZSTD_WINDOW} this reader accepts`);
        chunk = head;
      }
      this.zstd.push(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.checked) {
        const head = Buffer.concat(this.head);
        const window = zstdWindowSize(head);
        if (window !== undefined && window > MAX_ZSTD_WINDOW) throw new Error(`zstd window of ${window} bytes is too large`);
        this.zstd.push(head, true);
      } else {
        this.zstd.push(new Uint8Array(0), true);
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** Counts decompressed bytes and fails past the limit, so a bomb ends instead of running for hours. */
class ByteBudget extends Transform {
  constructor(private readonly budget: { left: number; max: number }) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.budget.left -= chunk.length;
    if (this.budget.left < 0) return done(new Error(`the layers decompress to more than ${this.budget.max} bytes; refusing to read further`));
    done(null, chunk);
  }
}

/** Reads the first bytes of a stream and gives them back with the rest, to decide the codec. */
async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const it = stream[Symbol.asyncIterator]();
  while (length < bytes) {
    const next = await it.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { head, stream: Readable.from(rest(), { objectMode: false }) };
}

// tar-stream (2.x, CommonJS, untyped): the parts this reader uses.
interface TarHeader {
  name: string;
  size?: number;
  mode?: number;
  type?: string | null;
  linkname?: string | null;
}
type TarEntryListener = (header: TarHeader, stream: Readable, next: (err?: Error) => void) => void;
const tar = createRequire(import.meta.url)('tar-stream') as { extract(): Writable };

/**
 * A tar entry name inside the image root: no leading `/` or `./`, no empty or `.` parts;
 * undefined when it climbs out with `..` (refused: a hostile or broken layer).
 */
export function normalizeEntryPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  return parts.join('/');
}

/** A symlink target as a path inside the root: relative to the link's directory; `..` stops at `/`. */
function resolveLinkTarget(linkPath: string, target: string): string {
  const base = target.startsWith('/') ? '/' : path.posix.join('/', path.posix.dirname(linkPath));
  return path.posix.resolve(base, target).slice(1);
}

interface Kept {
  data: Buffer;
  layerDigest: string;
}

/** The accumulated filesystem (kept files and symlinks only) and what one layer does to it. */
class Overlay {
  readonly files = new Map<string, Kept>();
  readonly links = new Map<string, string>();
  keptBytes = 0;

  /** Every directory that holds a kept entry, to see cheaply when a layer replaces one. */
  directories(): Set<string> {
    const dirs = new Set<string>();
    for (const p of [...this.files.keys(), ...this.links.keys()]) {
      for (let d = path.posix.dirname(p); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
    }
    return dirs;
  }

  /** Removes `p` itself (when `self`) and everything below it. */
  remove(p: string, self: boolean): void {
    const prefix = p === '' ? '' : `${p}/`;
    for (const map of [this.files, this.links] as Map<string, unknown>[]) {
      for (const key of [...map.keys()]) {
        if ((self && key === p) || key.startsWith(prefix)) {
          if (map === this.files) this.keptBytes -= this.files.get(key)!.data.length;
          map.delete(key);
        }
      }
    }
  }

  setFile(p: string, kept: Kept): void {
    this.removeEntry(p);
    this.files.set(p, kept);
    this.keptBytes += kept.data.length;
  }

  setLink(p: string, target: string): void {
    this.removeEntry(p);
    this.links.set(p, target);
  }

  removeEntry(p: string): void {
    const old = this.files.get(p);
    if (old) this.keptBytes -= old.data.length;
    this.files.delete(p);
    this.links.delete(p);
  }

  /** The file at `p`, following kept symlinks (a bounded number of hops, inside the root). */
  lookup(p: string): Kept | undefined {
    for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
      const file = this.files.get(p);
      if (file) return file;
      const target = this.links.get(p);
      if (target === undefined) return undefined;
      p = target;
    }
    return undefined;
  }
}

/** One layer's changes, applied to the lower layers only when the layer has been read whole. */
interface LayerChanges {
  /** `.wh.<name>`: these paths and their subtrees are deleted from the lower layers. */
  deleted: string[];
  /** `.wh..wh..opq`: the lower layers' contents of these directories are hidden. */
  opaque: string[];
  /** Lower entries this layer replaces: a file where a directory was, a directory where a file was. */
  replaced: string[];
  files: Map<string, Kept>;
  links: Map<string, string>;
  /** Wanted paths this layer wrote but that were not kept (too large, a device): the lower copy is gone. */
  dropped: string[];
}

/**
 * Streams the layers (bottom first) and returns the final state of every file `wants` accepts.
 * Throws LayerReadError for a layer that cannot be read (corrupt compression, truncated tar,
 * a bomb past maxTotalBytes); a layer that is no filesystem (its media type says so) is skipped
 * with a warning.
 */
export async function readLayers(layers: readonly LayerSource[], opts: ReadLayersOptions): Promise<ImageFiles> {
  const maxFile = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxKept = opts.maxKeptBytes ?? DEFAULT_MAX_KEPT_BYTES;
  const maxTotal = opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const budget = { left: maxTotal, max: maxTotal };
  const warnings: string[] = [];
  const overlay = new Overlay();

  for (const layer of layers) {
    const declared = layerCompression(layer.mediaType);
    if (declared === undefined) {
      warnings.push(`layer ${layer.digest} has media type ${layer.mediaType}, which is not a filesystem layer; not read`);
      continue;
    }
    const changes: LayerChanges = { deleted: [], opaque: [], replaced: [], files: new Map(), links: new Map(), dropped: [] };
    const lowerDirs = overlay.directories();
    let layerKept = 0;
    let badNames = 0;

    /** Forgets what this layer wrote at p so far; true when it had written something. */
    const forget = (p: string): boolean => {
      const old = changes.files.get(p);
      if (old) layerKept -= old.data.length;
      return changes.files.delete(p) || changes.links.delete(p);
    };
    /** Keeps `data` as this layer's file at p. */
    const keepFile = (p: string, data: Buffer): void => {
      forget(p);
      changes.files.set(p, { data, layerDigest: layer.digest });
      layerKept += data.length;
    };

    const onEntry = (header: TarHeader, entry: Readable, next: (err?: Error) => void): void => {
      const drain = (): void => {
        entry.on('end', () => next());
        entry.resume();
      };
      const p = normalizeEntryPath(header.name);
      if (p === undefined) {
        badNames++;
        return drain();
      }
      const base = path.posix.basename(p);
      const dir = path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p);
      if (base === '.wh..wh..opq') {
        // Only whiteouts that hide something kept matter: a layer of a million whiteouts costs
        // a set lookup each, not a walk over the kept files each.
        if (dir === '' || lowerDirs.has(dir)) changes.opaque.push(dir);
        return drain();
      }
      if (base.startsWith('.wh..wh.')) return drain(); // aufs bookkeeping (.wh..wh.plnk): not a whiteout
      if (base.startsWith('.wh.')) {
        const target = dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`;
        if (lowerDirs.has(target) || overlay.files.has(target) || overlay.links.has(target)) changes.deleted.push(target);
        return drain();
      }
      if (p === '') return drain();
      const type = header.type ?? 'file';
      if (type === 'directory') {
        if (overlay.files.has(p) || overlay.links.has(p)) changes.replaced.push(p);
        return drain();
      }
      if (type === 'pax-header' || type === 'pax-global-header' || type === 'gnu-long-path' || type === 'gnu-long-link-path') return drain();
      // Any other entry is a non-directory at p: it hides what the lower layers had below p.
      if (lowerDirs.has(p)) changes.replaced.push(p);
      if (!opts.wants(p)) {
        const extractor = type === 'file' || type === 'contiguous-file' ? opts.extract?.(p, header.size ?? 0, header.mode ?? 0) : undefined;
        if (!extractor) {
          // Not kept, but it still replaces what a lower layer (or this one) had at p.
          if (forget(p) || overlay.files.has(p) || overlay.links.has(p)) changes.dropped.push(p);
          return drain();
        }
        let open = true;
        entry.on('data', (chunk: Buffer) => {
          if (open) open = extractor.write(chunk);
        });
        entry.on('end', () => {
          const data = extractor.end();
          // What an extractor keeps is small by design; the total cap still bounds it.
          if (data && overlay.keptBytes + layerKept + data.length <= maxKept) keepFile(p, data);
          else {
            forget(p);
            changes.dropped.push(p);
          }
          next();
        });
        return;
      }

      if (type === 'symlink') {
        forget(p);
        changes.links.set(p, resolveLinkTarget(p, header.linkname ?? ''));
        return drain();
      }
      if (type === 'link') {
        // A hard link names an earlier entry of the archive: this layer's, or a lower layer's.
        const target = normalizeEntryPath(header.linkname ?? '');
        const kept = target === undefined ? undefined : (changes.files.get(target) ?? overlay.lookup(target));
        forget(p);
        if (kept) {
          changes.files.set(p, kept);
          layerKept += kept.data.length; // counted per path, as the overlay counts it
        } else {
          changes.dropped.push(p);
          warnings.push(`${p} in layer ${layer.digest} is a hard link to ${header.linkname ?? '?'}, which the scanner did not keep; not read`);
        }
        return drain();
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        forget(p);
        changes.dropped.push(p);
        return drain();
      }
      const size = header.size ?? 0;
      const keep = size <= maxFile && overlay.keptBytes + layerKept + size <= maxKept;
      if (!keep) {
        forget(p);
        changes.dropped.push(p);
        warnings.push(
          size > maxFile
            ? `${p} in layer ${layer.digest} is ${size} bytes, more than the ${maxFile} a scanned file may have; not read`
            : `${p} in layer ${layer.digest} would take the files kept for analysis past ${maxKept} bytes; not read`,
        );
        return drain();
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        keepFile(p, Buffer.concat(chunks));
        next();
      });
    };

    try {
      const raw = await layer.open();
      const { head, stream } = await peek(raw, 18);
      const compression = declared === 'sniff' ? sniff(head) : declared;
      const extract = tar.extract();
      extract.on('entry', onEntry as TarEntryListener as (...args: unknown[]) => void);
      const stages: (Readable | Transform | Writable)[] = [stream];
      if (compression === 'gzip') stages.push(zlib.createGunzip());
      if (compression === 'zstd') stages.push(new ZstdStream());
      stages.push(new ByteBudget(budget), extract);
      await pipeline(stages as unknown as [Readable, Writable]);
    } catch (err) {
      throw new LayerReadError(layer.digest, describeReadError(err));
    }

    if (badNames) warnings.push(`layer ${layer.digest} has ${badNames} entries whose names climb out of the root with '..'; ignored`);
    for (const p of changes.deleted) overlay.remove(p, true);
    for (const d of changes.opaque) overlay.remove(d, false);
    for (const p of changes.replaced) overlay.remove(p, true);
    for (const p of changes.dropped) overlay.removeEntry(p);
    for (const [p, kept] of changes.files) overlay.setFile(p, kept);
    for (const [p, target] of changes.links) overlay.setLink(p, target);
  }

  const files = new Map<string, ImageFile>();
  for (const [p, kept] of overlay.files) files.set(p, { path: p, data: kept.data, layerDigest: kept.layerDigest });
  for (const p of overlay.links.keys()) {
    const kept = overlay.lookup(p);
    if (kept) files.set(p, { path: p, data: kept.data, layerDigest: kept.layerDigest });
  }
  return { files, warnings };
}

/** Decoder messages ("incorrect header check", "Unexpected end of data") in words a user can act on. */
function describeReadError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = e?.message ?? String(err);
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) return `corrupt gzip data (${message})`;
  if (/unexpected end of data/i.test(message)) return 'the tar archive is truncated (unexpected end of data)';
  if (/invalid tar header|unknown format/i.test(message)) return `not a valid tar archive (${message})`;
  if (/zstd|invalid block|invalid magic|window size|unexpected EOF/i.test(message)) return `corrupt zstd data (${message})`;
  return message;
}
