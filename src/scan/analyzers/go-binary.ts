// Go modules compiled into binaries: Go (1.18 and later) writes the build info into the
// `.go.buildinfo` section, 32 bytes starting `\xff Go buildinf:` followed by two varint-prefixed
// strings, the Go version and the module info (`path`, `mod`, `dep`, `=>` replacement lines).
// Binaries are found by content, not path: every executable ELF file streams through an
// extractor that keeps only the bytes after the magic, so a 70 MB dockerd costs 256 KiB.
// The standard library is reported as the `stdlib` module, as OSV's Go ecosystem names it.
import type { InventoryPackage } from '../inventory.js';
import type { Extractor, ImageFiles } from '../layers.js';
import { purl, type Analyzer, type AnalyzerResult } from './analyzer.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const ELF = Buffer.from('\x7fELF', 'latin1');
/** Enough for the module list of a large binary (Kubernetes' is ~40 KiB). */
const KEEP = 256 * 1024;
const MAX_BINARY = 2 * 1024 * 1024 * 1024;

/** Streams an ELF file, keeping the build info once its magic shows up (it may span chunks). */
class BuildInfoExtractor implements Extractor {
  private seen = 0;
  private tail = Buffer.alloc(0);
  private found: Buffer[] | undefined;
  private kept = 0;

  write(chunk: Buffer): boolean {
    if (this.seen === 0 && !(chunk.length >= 4 && chunk.subarray(0, 4).equals(ELF))) return false;
    this.seen += chunk.length;
    if (this.found) return this.keep(chunk);
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    for (let from = 0; ; ) {
      const at = data.indexOf(MAGIC, from);
      if (at < 0) break;
      // The real header follows with a pointer size (4 or 8) and flags; a stray copy of the
      // magic (a binary that embeds debug/buildinfo) usually does not.
      if (at + 16 > data.length || [4, 8].includes(data[at + 14]!)) {
        this.found = [];
        return this.keep(data.subarray(at));
      }
      from = at + 1;
    }
    this.tail = Buffer.from(data.subarray(Math.max(0, data.length - (MAGIC.length + 16))));
    return true;
  }

  private keep(chunk: Buffer): boolean {
    const part = chunk.subarray(0, KEEP - this.kept);
    this.found!.push(Buffer.from(part));
    this.kept += part.length;
    return this.kept < KEEP;
  }

  end(): Buffer | undefined {
    return this.found ? Buffer.concat(this.found) : undefined;
  }
}

function readVarint(data: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  for (let shift = 0; shift < 35 && at < data.length; shift += 7) {
    const byte = data[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
  }
  return undefined;
}

export interface GoBuildInfo {
  goVersion: string;
  path?: string;
  main?: { path: string; version: string };
  deps: { path: string; version: string }[];
}

/** The build info after the magic; undefined for the pre-1.18 pointer format (or garbage). */
export function parseBuildInfo(data: Buffer): GoBuildInfo | undefined {
  if (data.length < 32 || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if ((data[15]! & 2) === 0) return undefined;
  const strings: string[] = [];
  let at = 32;
  for (let i = 0; i < 2; i++) {
    const v = readVarint(data, at);
    if (!v || v[1] + v[0] > data.length) return undefined;
    strings.push(data.subarray(v[1], v[1] + v[0]).toString('utf8'));
    at = v[1] + v[0];
  }
  const [goVersion, rawMod] = strings as [string, string];
  if (!goVersion.startsWith('go')) return undefined;
  // The module info is wrapped in 16-byte sentinels (runtime/debug's modinfo).
  const mod = rawMod.length >= 33 && rawMod[rawMod.length - 17] === '\n' ? rawMod.slice(16, -16) : rawMod;
  const info: GoBuildInfo = { goVersion, deps: [] };
  for (const line of mod.split('\n')) {
    const [kind, p, version] = line.split('\t');
    if (kind === 'path' && p) info.path = p;
    else if (kind === 'mod' && p && version) info.main = { path: p, version };
    else if (kind === 'dep' && p && version) info.deps.push({ path: p, version });
    else if (kind === '=>' && p && info.deps.length) {
      // A replacement by a local directory is the binary's own code, which no advisory names.
      if (/^(?:\.{1,2}\/|\/)/.test(p) || !version || version === '(devel)') info.deps.pop();
      else info.deps[info.deps.length - 1] = { path: p, version };
    }
  }
  return info;
}

function goPackage(module: string, version: string, path: string, layerDigest: string): InventoryPackage {
  const slash = module.lastIndexOf('/');
  return {
    ecosystem: 'Go',
    name: module,
    // OSV's Go ranges are written without the leading v; purls keep Go's spelling.
    version: version.replace(/^v/, ''),
    purl: purl('golang', slash > 0 ? module.slice(0, slash) : undefined, slash > 0 ? module.slice(slash + 1) : module, version),
    layerDigest,
    path,
  };
}

export const goBinaryAnalyzer: Analyzer = {
  name: 'go',
  wants: () => false,
  extract: (_path, size, mode) => (size >= 1024 && size <= MAX_BINARY && (mode & 0o111) !== 0 ? new BuildInfoExtractor() : undefined),
  analyze(files: ImageFiles): AnalyzerResult {
    const packages: InventoryPackage[] = [];
    const warnings: string[] = [];
    for (const file of [...files.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      if (!file.data.subarray(0, MAGIC.length).equals(MAGIC)) continue;
      const info = parseBuildInfo(file.data);
      if (!info) {
        warnings.push(`${file.path}: a Go binary whose build info is not in the Go 1.18+ format; its modules are not listed`);
        continue;
      }
      // go1.21.5, or go1.22rc1 / devel builds, which no advisory range names: stdlib only for releases.
      const release = /^go(\d+\.\d+(?:\.\d+)?)$/.exec(info.goVersion.split(/\s/)[0]!);
      if (release) packages.push(goPackage('stdlib', release[1]!, file.path, file.layerDigest));
      if (info.main && info.main.version !== '(devel)') packages.push(goPackage(info.main.path, info.main.version, file.path, file.layerDigest));
      for (const dep of info.deps) packages.push(goPackage(dep.path, dep.version, file.path, file.layerDigest));
    }
    return { packages, warnings };
  },
};
