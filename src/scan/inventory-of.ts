// What the built-in scanner calls: an image's package inventory from its layers. Reads the
// layers once, keeping only the files some analyzer asked for, runs the analyzers on that final
// filesystem (os-release first, since the distro analyzers name their ecosystem after it), and
// returns the packages de-duplicated with every warning collected. Pure and streaming: no
// database, nothing written to disk.
import type { BlobStore } from '../storage/blob-store.js';
import { MEDIA, parseManifest } from '../oci/manifest-parse.js';
import { isDigest, type Digest } from '../oci/names.js';
import type { Inventory, InventoryPackage } from './inventory.js';
import { readLayers, type LayerSource, type ReadLayersOptions } from './layers.js';
import type { Analyzer, AnalyzerContext } from './analyzers/analyzer.js';
import { apkAnalyzer } from './analyzers/apk.js';
import { dpkgAnalyzer } from './analyzers/dpkg.js';
import { goBinaryAnalyzer } from './analyzers/go-binary.js';
import { npmAnalyzer } from './analyzers/npm.js';
import { osReleaseAnalyzer } from './analyzers/os-release.js';
import { pythonAnalyzer } from './analyzers/python.js';
import { rpmAnalyzer } from './analyzers/rpm.js';

/** Every analyzer, os-release first. */
export const ANALYZERS: readonly Analyzer[] = [osReleaseAnalyzer, dpkgAnalyzer, apkAnalyzer, rpmAnalyzer, npmAnalyzer, pythonAnalyzer, goBinaryAnalyzer];

export interface InventoryOptions extends Omit<ReadLayersOptions, 'wants'> {
  analyzers?: readonly Analyzer[];
}

/** The inventory of an image given its layers, bottom first. Throws LayerReadError for an unreadable layer. */
export async function inventoryOf(layers: readonly LayerSource[], opts: InventoryOptions = {}): Promise<Inventory> {
  const analyzers = opts.analyzers ?? ANALYZERS;
  const extractors = analyzers.filter((a) => a.extract);
  const files = await readLayers(layers, {
    ...opts,
    wants: (p) => analyzers.some((a) => a.wants(p)),
    extract: (p, size, mode) => {
      for (const a of extractors) {
        const extractor = a.extract!(p, size, mode);
        if (extractor) return extractor;
      }
      return undefined;
    },
  });
  const warnings = [...files.warnings];
  const context: AnalyzerContext = {};
  const packages: InventoryPackage[] = [];
  const seen = new Set<string>();
  for (const analyzer of analyzers) {
    try {
      const result = await analyzer.analyze(files, context);
      if (result.os && !context.os) context.os = result.os;
      warnings.push(...result.warnings.map((w) => `${analyzer.name}: ${w}`));
      for (const pkg of result.packages) {
        // The same package twice in one file (a lockfile listing a module at two install paths
        // with one version) is one package; in two files it is two places to fix.
        const key = `${pkg.purl}\u0000${pkg.path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        packages.push(pkg);
      }
    } catch (err) {
      warnings.push(`${analyzer.name}: failed (${(err as Error).message}); its packages are missing from this inventory`);
    }
  }
  return { ...(context.os ? { os: context.os } : {}), packages, warnings };
}

/**
 * The inventory of an image manifest (OCI image manifest or Docker schema 2) whose layers are in
 * `blobs`. An index or manifest list has no layers of its own: scan each platform's manifest.
 */
export async function inventoryOfImage(blobs: BlobStore, manifestBytes: Buffer, opts: InventoryOptions = {}): Promise<Inventory> {
  const parsed = parseManifest(manifestBytes, undefined);
  if (parsed.mediaType !== MEDIA.ociManifest && parsed.mediaType !== MEDIA.dockerManifest) {
    throw new Error(`a manifest of type ${parsed.mediaType} has no layers to scan; scan each of its image manifests instead`);
  }
  const doc = JSON.parse(manifestBytes.toString('utf8')) as { layers?: { mediaType?: unknown; digest?: unknown }[] };
  const layers: LayerSource[] = [];
  const warnings: string[] = [];
  for (const [i, layer] of (doc.layers ?? []).entries()) {
    const digest = String(layer.digest);
    const mediaType = typeof layer.mediaType === 'string' ? layer.mediaType : '';
    if (!isDigest(digest)) throw new Error(`layers[${i}].digest is not a digest`);
    if (parsed.externalBlobs.includes(digest) && !(await blobs.stat(digest as Digest))) {
      // Foreign layers (Windows base layers) live at their urls, not here.
      warnings.push(`layer ${digest} is a non-distributable layer this registry does not hold; not read`);
      continue;
    }
    layers.push({ digest, mediaType, open: () => blobs.open(digest as Digest) });
  }
  const inventory = await inventoryOf(layers, opts);
  inventory.warnings.unshift(...warnings);
  return inventory;
}
