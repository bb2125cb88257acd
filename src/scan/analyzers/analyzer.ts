// The analyzer contract of the built-in scanner: each analyzer names the image paths it reads
// (so the layer reader keeps only those) and turns those files into packages. Also the helpers
// every analyzer shares: a package URL builder and the RFC 822-style field parser that dpkg's
// status file and Python's METADATA both use.
import { PackageURL } from 'packageurl-js';
import type { Extractor, ImageFile, ImageFiles } from '../layers.js';
import type { Inventory, InventoryPackage } from '../inventory.js';

export type OsInfo = NonNullable<Inventory['os']>;

export interface AnalyzerContext {
  /** The operating system the os-release analyzer found (it runs first), when it found one. */
  os?: OsInfo;
}

export interface AnalyzerResult {
  packages: InventoryPackage[];
  warnings: string[];
  os?: OsInfo;
}

export interface Analyzer {
  /** For warnings: `dpkg`, `npm`. */
  readonly name: string;
  /** Whether the analyzer reads this path (relative to the image root). Cheap: called per tar entry. */
  wants(path: string): boolean;
  /** For analyzers that find files by content: an extractor for a regular file `wants` declined. */
  extract?(path: string, size: number, mode: number): Extractor | undefined;
  /** Reads the kept files; a broken file is a warning, not an exception. */
  analyze(files: ImageFiles, context: AnalyzerContext): Promise<AnalyzerResult> | AnalyzerResult;
}

/** The kept files this analyzer asked for, in path order (so results do not depend on layer order). */
export function filesFor(analyzer: Pick<Analyzer, 'wants'>, files: ImageFiles): ImageFile[] {
  return [...files.files.values()].filter((f) => analyzer.wants(f.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A package URL (purl spec) string; qualifiers with no value are left out. */
export function purl(type: string, namespace: string | undefined, name: string, version: string, qualifiers: Record<string, string | undefined> = {}): string {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(qualifiers)) if (v !== undefined && v !== '') q[k] = v;
  return new PackageURL(type, namespace ?? null, name, version, Object.keys(q).length ? q : null, null).toString();
}

/**
 * RFC 822-style paragraphs (dpkg status, Python METADATA headers): `Field: value` lines,
 * continuation lines start with a space or tab, a blank line ends a paragraph. Field names are
 * lower-cased; a repeated field keeps every value (Classifier:), joined by newlines.
 */
export function parseParagraphs(text: string, stopAtFirst = false): Map<string, string>[] {
  const paragraphs: Map<string, string>[] = [];
  let current = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size) paragraphs.push(current);
      if (stopAtFirst && paragraphs.length) return paragraphs;
      current = new Map();
      last = undefined;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      current.set(last, `${current.get(last)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    current.set(last, current.has(last) ? `${current.get(last)}\n${value}` : value);
  }
  if (current.size) paragraphs.push(current);
  return paragraphs;
}
