// Test images made locally (no network): OCI image layouts that skopeo can copy from, plus
// digests and blob pushes for raw API tests.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { request } from './http.js';

const run = promisify(execFile);

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface OciLayout {
  dir: string;
  /** skopeo source reference, e.g. "oci:/tmp/x:v1". */
  ref: string;
  manifestDigest: string;
  layerDigests: string[];
  configDigest: string;
}

/**
 * Writes a one-layer image layout. With `randomBytesCount` the layer holds that much fresh random
 * data, so every call yields new blobs (needed where a registry must not already hold them).
 */
export async function makeOciLayout(dir: string, tag = 'v1', randomBytesCount = 0): Promise<OciLayout> {
  await rm(dir, { recursive: true, force: true });
  const rootfs = path.join(dir, '.rootfs');
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await mkdir(rootfs, { recursive: true });
  await writeFile(path.join(rootfs, 'hello.txt'), `hello ${tag}\n`);
  if (randomBytesCount > 0) await writeFile(path.join(rootfs, 'big.bin'), randomBytes(randomBytesCount));
  const tarFile = path.join(dir, 'layer.tar');
  await run('tar', ['--sort=name', '--mtime=2024-01-01 00:00Z', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tarFile, '.']);
  const { readFile } = await import('node:fs/promises');
  const tar = await readFile(tarFile);
  await rm(tarFile);
  await rm(rootfs, { recursive: true });
  const layer = gzipSync(tar, { level: 1 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/hello.txt'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'minato test' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  for (const blob of [layer, config, manifest]) {
    await writeFile(path.join(dir, 'blobs', 'sha256', sha256(blob).slice(7)), blob);
  }
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, ref: `oci:${dir}:${tag}`, manifestDigest: sha256(manifest), layerDigests: [sha256(layer)], configDigest: sha256(config) };
}

/** An OCI image manifest (as bytes) referencing the given config and layer blobs. */
export function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
      ...extra,
    }),
  );
}

export interface OciIndexLayout {
  dir: string;
  ref: string;
  indexDigest: string;
  /** Per platform ("linux/amd64" ...): the image manifest's digest and its layer digest. */
  images: Record<string, { manifestDigest: string; layerDigest: string; configDigest: string }>;
}

/**
 * Writes a multi-platform image: an OCI index tagged `tag` over one small image per platform
 * ("os/arch"), each with its own random layer. skopeo copies it with `--all`.
 */
export async function makeOciIndexLayout(dir: string, tag = 'v1', platforms = ['linux/amd64', 'linux/arm64']): Promise<OciIndexLayout> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (blob: Buffer) => writeFile(path.join(dir, 'blobs', 'sha256', sha256(blob).slice(7)), blob);
  const images: OciIndexLayout['images'] = {};
  const descriptors = [];
  for (const platform of platforms) {
    const [os, architecture] = platform.split('/') as [string, string];
    // Not a tar: fine for copying and API tests, not for runtimes that unpack layers.
    const raw = randomBytes(4096);
    const layer = gzipSync(raw);
    const config = Buffer.from(JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: [sha256(raw)] } }));
    const manifest = imageManifest(config, [layer]);
    for (const blob of [layer, config, manifest]) await put(blob);
    images[platform] = { manifestDigest: sha256(manifest), layerDigest: sha256(layer), configDigest: sha256(config) };
    descriptors.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, platform: { os, architecture } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: descriptors }));
  await put(index);
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir, ref: `oci:${dir}:${tag}`, indexDigest: sha256(index), images };
}

/** Pushes a small image (a config of `platform` and one layer) by `reference` over the registry API; returns its manifest's digest and size. */
export async function pushImage(base: string, authorization: string, repository: string, reference: string, seed = reference, platform = 'linux/amd64'): Promise<{ digest: string; size: number }> {
  const [os, architecture] = platform.split('/');
  const config = Buffer.from(JSON.stringify({ architecture, os, seed }));
  const layer = Buffer.from(`layer of ${repository}:${seed}`);
  for (const blob of [config, layer]) {
    const res = await request(`${base}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream' }, body: blob });
    if (res.status !== 201) throw new Error(`blob upload to ${repository} answered ${res.status}: ${res.text}`);
  }
  const manifest = imageManifest(config, [layer]);
  const res = await request(`${base}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  if (res.status !== 201) throw new Error(`manifest push to ${repository}:${reference} answered ${res.status}: ${res.text}`);
  return { digest: sha256(manifest), size: manifest.length };
}

/** Pushes an index of one image per platform (each pushed by digest) by `tag`; returns the index's digest and its children's. */
export async function pushIndex(base: string, authorization: string, repository: string, tag: string, platforms = ['linux/amd64', 'linux/arm64']): Promise<{ digest: string; children: string[] }> {
  const children: Array<{ digest: string; size: number; platform: string }> = [];
  for (const platform of platforms) {
    const seed = `${tag}-${platform}`;
    const pushed = await pushImage(base, authorization, repository, 'placeholder', seed, platform);
    children.push({ ...pushed, platform });
  }
  // The children were pushed by a throw-away tag; only the index keeps a tag.
  await request(`${base}/v2/${repository}/manifests/placeholder`, { method: 'DELETE', headers: { Authorization: authorization } });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.size, platform: { os: c.platform.split('/')[0], architecture: c.platform.split('/')[1] } })),
    }),
  );
  const res = await request(`${base}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, body: index });
  if (res.status !== 201) throw new Error(`index push answered ${res.status}: ${res.text}`);
  return { digest: sha256(index), children: children.map((c) => c.digest) };
}
