// core/image-details.ts on manifests and configs a pusher chose: layers in order with their
// sizes; the config's readable parts; an index, a non-image config, a config that is not JSON,
// and one larger than the limit (declared or actual) are refused in words, never read whole.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { CONFIG_LIMIT, ImageDetails } from '../../../src/core/image-details.js';
import { DomainError } from '../../../src/util/domain-error.js';

const CONFIG_DIGEST = `sha256:${'c'.repeat(64)}`;
const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';

function details(manifest: unknown, blob: Buffer | (() => Readable) = Buffer.from('{}')) {
  let opened = 0;
  const d = new ImageDetails({
    repositories: { artifact: async () => ({ content: Buffer.from(JSON.stringify(manifest)) }) as never },
    openBlob: async (_repo, digest) => {
      assert.equal(digest, CONFIG_DIGEST);
      opened++;
      return typeof blob === 'function' ? blob() : Readable.from([blob]);
    },
  });
  return { d, opened: () => opened };
}

const image = (config: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  config: { mediaType: IMAGE_CONFIG, digest: CONFIG_DIGEST, size: 100, ...config },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'1'.repeat(64)}`, size: 10 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'2'.repeat(64)}`, size: 20 },
  ],
});

test('layers in order with sizes and media types', async () => {
  const layers = await details(image()).d.layers('p/r', 'v1');
  assert.deepEqual(layers.map((l) => [l.digest.slice(7, 8), l.size]), [['1', 10], ['2', 20]]);
  assert.equal(layers[0]!.media_type, 'application/vnd.oci.image.layer.v1.tar+gzip');
});

test('the config: entrypoint, env, labels, created, platform; odd types are left out', async () => {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'arm64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Entrypoint: ['/app'], Cmd: 'not-a-list', Env: ['A=1'], Labels: { team: 'x', bad: 7 }, WorkingDir: '/srv', ExposedPorts: { '80/tcp': {} } },
      history: [{ created_by: 'COPY app /app' }],
    }),
  );
  const c = await details(image(), config).d.config('p/r', 'v1');
  assert.deepEqual(c, {
    architecture: 'arm64',
    os: 'linux',
    variant: undefined,
    created: '2026-01-01T00:00:00Z',
    author: undefined,
    entrypoint: ['/app'],
    cmd: undefined,
    env: ['A=1'],
    labels: { team: 'x' },
    working_dir: '/srv',
    user: undefined,
    exposed_ports: ['80/tcp'],
    history: [{ created: undefined, created_by: 'COPY app /app', empty_layer: undefined, comment: undefined }],
  });
});

test('an index has no layers of its own: a 404 that says to ask a child', async () => {
  const index = { schemaVersion: 2, manifests: [{ digest: `sha256:${'a'.repeat(64)}`, size: 1, mediaType: 'application/vnd.oci.image.manifest.v1+json' }] };
  await assert.rejects(details(index).d.layers('p/r', 'v1'), (err: DomainError) => err.code === 'NOT_FOUND' && /index/.test(err.message));
});

test('a config that is not an image config (a signature) is not read', async () => {
  const x = details(image({ mediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json' }));
  assert.equal(await x.d.config('p/r', 'v1'), undefined);
  assert.equal(x.opened(), 0);
});

test('a config larger than the limit is refused, declared or not, without reading it all', async () => {
  const declared = details(image({ size: CONFIG_LIMIT + 1 }));
  await assert.rejects(declared.d.config('p/r', 'v1'), (err: DomainError) => err.code === 'INVALID' && /skopeo inspect --config/.test(err.message));
  assert.equal(declared.opened(), 0);
  let chunks = 0;
  const endless = () =>
    new Readable({
      read() {
        chunks++;
        this.push(Buffer.alloc(64 * 1024, 0x20));
      },
    });
  const lying = details(image({ size: 10 }), endless);
  await assert.rejects(lying.d.config('p/r', 'v1'), (err: DomainError) => err.code === 'INVALID');
  assert.ok(chunks < CONFIG_LIMIT / (64 * 1024) + 4, `read ${chunks} chunks`);
});

test('a config that is not JSON is refused in words', async () => {
  await assert.rejects(details(image(), Buffer.from('not json')).d.config('p/r', 'v1'), (err: DomainError) => err.code === 'INVALID' && /not JSON/.test(err.message));
});
