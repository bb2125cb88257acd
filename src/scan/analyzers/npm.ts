// npm packages: package-lock.json (lockfile v1's nested `dependencies`, v2/v3's flat `packages`)
// and, for trees installed without a lockfile in the image (npm's own modules, a copied
// node_modules), node_modules/*/package.json. A node_modules tree under a directory that has a
// package-lock.json is covered by the lockfile and not read twice. Dev dependencies in a
// lockfile are left out, as Trivy does: a production image normally has them pruned.
import { createRequire } from 'node:module';
import type { InventoryPackage } from '../inventory.js';
import type { ImageFile, ImageFiles } from '../layers.js';
import { filesFor, purl, type Analyzer, type AnalyzerResult } from './analyzer.js';

// semver ships no types; its valid() is all this needs.
const semver = createRequire(import.meta.url)('semver') as { valid(version: string): string | null };

const LOCK = /(?:^|\/)package-lock\.json$/;
const MODULE = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/]+\/package\.json$/;

interface LockEntry {
  version?: unknown;
  name?: unknown;
  dev?: unknown;
  link?: unknown;
  license?: unknown;
  dependencies?: unknown;
}

export const npmAnalyzer: Analyzer = {
  name: 'npm',
  // Lockfiles a package ships inside node_modules are its author's, not what is installed.
  wants: (p) => (LOCK.test(p) && !p.includes('node_modules/')) || MODULE.test(p),
  analyze(files: ImageFiles): AnalyzerResult {
    const packages: InventoryPackage[] = [];
    const warnings: string[] = [];
    const wanted = filesFor(npmAnalyzer, files);
    const lockDirs = new Set(wanted.filter((f) => LOCK.test(f.path)).map((f) => dirOf(f.path)));
    for (const file of wanted) {
      let json: unknown;
      try {
        json = JSON.parse(file.data.toString('utf8'));
      } catch {
        warnings.push(`${file.path}: not valid JSON; ignored`);
        continue;
      }
      if (typeof json !== 'object' || json === null) continue;
      if (LOCK.test(file.path)) packages.push(...fromLockfile(json as Record<string, unknown>, file));
      else if (!lockDirs.has(projectDir(file.path))) {
        const pkg = fromManifest(json as LockEntry, file);
        if (pkg) packages.push(pkg);
      }
    }
    return { packages, warnings };
  },
};

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** The directory whose node_modules holds this package.json: `app` for app/node_modules/a/node_modules/b/package.json. */
function projectDir(p: string): string {
  const i = p.startsWith('node_modules/') ? 0 : p.indexOf('/node_modules/');
  return i <= 0 ? '' : p.slice(0, i);
}

function npmPackage(name: string, version: string, license: unknown, file: ImageFile): InventoryPackage | undefined {
  // Git, file: and tarball URLs are no registry versions an advisory could name.
  if (!semver.valid(version)) return undefined;
  const at = name.startsWith('@') ? name.indexOf('/') : -1;
  const licenses = licensesOf(license);
  return {
    ecosystem: 'npm',
    name,
    version,
    purl: at > 0 ? purl('npm', name.slice(0, at), name.slice(at + 1), version) : purl('npm', undefined, name, version),
    ...(licenses.length ? { licenses } : {}),
    layerDigest: file.layerDigest,
    path: file.path,
  };
}

/** package.json's `license` (an SPDX string, or the old `{ type }`) or legacy `licenses` array. */
function licensesOf(value: unknown): string[] {
  if (typeof value === 'string' && value) return [value];
  if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') return [(value as { type: string }).type];
  if (Array.isArray(value)) return value.flatMap(licensesOf);
  return [];
}

function fromManifest(json: LockEntry & { licenses?: unknown }, file: ImageFile): InventoryPackage | undefined {
  if (typeof json.name !== 'string' || typeof json.version !== 'string') return undefined;
  return npmPackage(json.name, json.version, json.license ?? json.licenses, file);
}

function fromLockfile(lock: Record<string, unknown>, file: ImageFile): InventoryPackage[] {
  const out: InventoryPackage[] = [];
  const add = (name: string, entry: LockEntry): void => {
    if (entry.dev === true || entry.link === true || typeof entry.version !== 'string') return;
    const pkg = npmPackage(typeof entry.name === 'string' ? entry.name : name, entry.version, entry.license, file);
    if (pkg) out.push(pkg);
  };
  const flat = lock.packages;
  if (flat && typeof flat === 'object') {
    // v2/v3: keys are install paths; the root ("") and workspace folders are the project itself.
    for (const [key, entry] of Object.entries(flat as Record<string, LockEntry>)) {
      const i = key.lastIndexOf('node_modules/');
      if (i < 0 || !entry || typeof entry !== 'object') continue;
      add(key.slice(i + 'node_modules/'.length), entry);
    }
    return out;
  }
  // v1: nested `dependencies` by name.
  const walk = (deps: unknown, depth: number): void => {
    if (!deps || typeof deps !== 'object' || depth > 64) return;
    for (const [name, entry] of Object.entries(deps as Record<string, LockEntry>)) {
      if (!entry || typeof entry !== 'object') continue;
      add(name, entry);
      walk(entry.dependencies, depth + 1);
    }
  };
  walk(lock.dependencies, 0);
  return out;
}
