// The scanner's layer reader: every compression a registry sees, OCI whiteouts, which layer last
// wrote a file, and hostile layers (bad names, escaping symlinks, corrupt or truncated streams,
// oversized files, decompression bombs) ending in a clear warning or error.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LayerReadError, layerCompression, normalizeEntryPath, readLayers, type ImageFiles } from '../../src/scan/layers.js';
import { gzip, layer, LAYER, tarOf, zstd, type Entry } from '../fixtures/scan/layers.js';

const all = { wants: () => true };
const text = (files: ImageFiles, p: string): string | undefined => files.files.get(p)?.data.toString('utf8');

test('layers are read by media type (gzip, zstd, plain, Docker) and by magic bytes when the type says nothing', async () => {
  const tar = await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', data: 'hello\n' }]);
  const sources = [
    layer(gzip(tar), LAYER.gzip),
    layer(zstd(tar), LAYER.zstd),
    layer(tar, LAYER.tar),
    layer(gzip(tar), LAYER.docker),
    layer(zstd(tar), 'application/octet-stream'),
    layer(gzip(tar), ''),
  ];
  for (const source of sources) {
    const files = await readLayers([source], all);
    assert.equal(text(files, 'etc/hello'), 'hello\n', source.mediaType);
    assert.equal(files.files.get('etc/hello')?.layerDigest, source.digest);
    assert.deepEqual(files.warnings, []);
  }
  assert.equal(layerCompression('application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'), 'zstd');
  assert.equal(layerCompression('application/vnd.in-toto+json'), undefined);
});

test('a zstd layer of several frames and a gzip layer of several members are read whole', async () => {
  const big = randomBytes(3 << 20).toString('base64');
  const tar = await tarOf([{ name: 'a', data: big }, { name: 'b', data: 'after' }]);
  const half = Math.floor(tar.length / 2);
  const frames = Buffer.concat([zstd(tar.subarray(0, half)), zstd(tar.subarray(half), ['--no-check'])]);
  const files = await readLayers([layer(frames, LAYER.zstd)], all);
  assert.equal(text(files, 'a'), big);
  assert.equal(text(files, 'b'), 'after');
  const members = Buffer.concat([gzip(tar.subarray(0, half)), gzip(tar.subarray(half))]);
  assert.equal(text(await readLayers([layer(members)], all), 'b'), 'after');
});

test('only wanted files are kept, and the final state is the last layer that wrote each one', async () => {
  const l1 = layer(gzip(await tarOf([{ name: 'keep/a', data: 'one' }, { name: 'keep/b', data: 'one' }, { name: 'other/x', data: 'unwanted' }])));
  const l2 = layer(zstd(await tarOf([{ name: './keep/a', data: 'two' }])), LAYER.zstd);
  const files = await readLayers([l1, l2], { wants: (p) => p.startsWith('keep/') });
  assert.deepEqual([...files.files.keys()].sort(), ['keep/a', 'keep/b']);
  assert.equal(text(files, 'keep/a'), 'two');
  assert.equal(files.files.get('keep/a')?.layerDigest, l2.digest);
  assert.equal(files.files.get('keep/b')?.layerDigest, l1.digest);
});

test('whiteouts delete files and directories of lower layers, an opaque directory hides all they had in it', async () => {
  const l1 = layer(
    gzip(
      await tarOf([
        { name: 'var/lib/dpkg/status', data: 'status' },
        { name: 'var/lib/dpkg/status.d/a', data: 'a' },
        { name: 'var/lib/dpkg/status.d/b', data: 'b' },
        { name: 'opt/app/one', data: '1' },
        { name: 'opt/app/sub/two', data: '2' },
        { name: 'gone/deep/file', data: 'x' },
        { name: 'becomes-file/inner', data: 'x' },
      ]),
    ),
  );
  const l2 = layer(
    gzip(
      await tarOf([
        { name: 'var/lib/dpkg/status.d/.wh.a', data: '' },
        { name: 'opt/app/.wh..wh..opq', data: '' },
        { name: 'opt/app/new', data: 'new' },
        { name: '.wh.gone', data: '' },
        { name: 'becomes-file', data: 'now a file' },
        // A whiteout only hides lower layers: this layer's own file stays.
        { name: 'var/lib/dpkg/status.d/c', data: 'c' },
        { name: 'var/lib/dpkg/status.d/.wh.c', data: '' },
      ]),
    ),
  );
  const files = await readLayers([l1, l2], all);
  assert.deepEqual([...files.files.keys()].sort(), ['becomes-file', 'opt/app/new', 'var/lib/dpkg/status', 'var/lib/dpkg/status.d/b', 'var/lib/dpkg/status.d/c']);
  // The file is back when a third layer writes it again.
  const l3 = layer(gzip(await tarOf([{ name: 'opt/app/one', data: 'again' }])));
  const again = await readLayers([l1, l2, l3], all);
  assert.equal(text(again, 'opt/app/one'), 'again');
  assert.equal(again.files.get('opt/app/one')?.layerDigest, l3.digest);
});

test('names are kept inside the root: absolute paths are relative, entries with .. are refused with a warning', async () => {
  assert.equal(normalizeEntryPath('/etc//os-release'), 'etc/os-release');
  assert.equal(normalizeEntryPath('./a/./b/'), 'a/b');
  assert.equal(normalizeEntryPath('a/../../etc/passwd'), undefined);
  const l = layer(gzip(await tarOf([{ name: '/etc/os-release', data: 'ID=x' }, { name: '../../etc/passwd', data: 'root' }, { name: 'a/../../b', data: 'b' }])));
  const files = await readLayers([l], all);
  assert.deepEqual([...files.files.keys()], ['etc/os-release']);
  assert.match(files.warnings.join('\n'), /2 entries whose names climb out of the root/);
});

test('symlinks resolve inside the image only, loops end, and a hard link shares its target bytes', async () => {
  const l = layer(
    gzip(
      await tarOf([
        { name: 'usr/lib/os-release', data: 'ID=debian' },
        { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
        // Climbing above / stops at the image root: this names the image's etc/shadow, not the host's.
        { name: 'etc/shadow', data: 'image shadow' },
        { name: 'app/escape', type: 'symlink', linkname: '../../../../../../etc/shadow' },
        { name: 'app/abs', type: 'symlink', linkname: '/etc/shadow' },
        { name: 'loop/a', type: 'symlink', linkname: 'b' },
        { name: 'loop/b', type: 'symlink', linkname: 'a' },
        { name: 'app/dangling', type: 'symlink', linkname: '/nowhere' },
        { name: 'app/hard', type: 'link', linkname: 'usr/lib/os-release' },
      ]),
    ),
  );
  const files = await readLayers([l], all);
  assert.equal(text(files, 'etc/os-release'), 'ID=debian');
  assert.equal(text(files, 'app/escape'), 'image shadow');
  assert.equal(text(files, 'app/abs'), 'image shadow');
  assert.equal(text(files, 'app/hard'), 'ID=debian');
  for (const p of ['loop/a', 'loop/b', 'app/dangling']) assert.equal(files.files.has(p), false, p);
});

test('a corrupt gzip, a truncated tar, a bad zstd frame and a huge zstd window are errors that name the layer', async () => {
  const tar = await tarOf([{ name: 'a', data: randomBytes(200_000).toString('hex') }]);
  const gz = gzip(tar);
  const corrupt = Buffer.from(gz);
  corrupt.fill(0x55, 100, 400);
  const cases: Array<[Buffer, string, RegExp]> = [
    // Damaged deflate data either fails to inflate or inflates to bytes that are no tar header.
    [corrupt, LAYER.gzip, /corrupt gzip data|not a valid tar archive/],
    [gzip(tar.subarray(0, 100_000)), LAYER.gzip, /truncated/],
    [tar.subarray(0, 100_000), LAYER.tar, /truncated/],
    [gz.subarray(0, gz.length / 2), LAYER.gzip, /corrupt gzip data|truncated/],
    [Buffer.concat([zstd(tar).subarray(0, 30), randomBytes(5000)]), LAYER.zstd, /corrupt zstd data/],
    // A frame header asking for a 2 GiB window (window descriptor 0xa8: 2^31): refused before allocation.
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, ...randomBytes(64)]), LAYER.zstd, /zstd window of 2147483648 bytes/],
    [Buffer.from('not compressed at all'), LAYER.gzip, /corrupt gzip data/],
  ];
  for (const [bytes, type, message] of cases) {
    const l = layer(bytes, type);
    await assert.rejects(readLayers([l], all), (err: unknown) => {
      assert.ok(err instanceof LayerReadError, String(err));
      assert.equal(err.layerDigest, l.digest);
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`layer ${l.digest}: `));
      return true;
    });
  }
});

test('a file past the size cap is not read, with a warning; the lower copy it replaced is gone too', async () => {
  const l1 = layer(gzip(await tarOf([{ name: 'db', data: 'small' }])));
  const l2 = layer(gzip(await tarOf([{ name: 'db', data: 'x'.repeat(5000) }, { name: 'ok', data: 'fine' }])));
  const files = await readLayers([l1, l2], { wants: () => true, maxFileBytes: 4096 });
  assert.equal(files.files.has('db'), false);
  assert.equal(text(files, 'ok'), 'fine');
  assert.match(files.warnings.join('\n'), /db in layer sha256:[0-9a-f]+ is 5000 bytes, more than the 4096/);
  const capped = await readLayers([l1, l2], { wants: () => true, maxKeptBytes: 4 + 5 });
  assert.match(capped.warnings.join('\n'), /past 9 bytes/);
});

test('unwanted entries are drained, not buffered, and a decompression bomb stops at the byte budget', async () => {
  // 256 MiB of zeros compresses to ~256 KiB: the reader must stream it through without keeping it.
  const zeros = Buffer.alloc(256 << 20);
  const entries: Entry[] = [{ name: 'big.img', data: zeros }, { name: 'etc/os-release', data: 'ID=alpine' }];
  const bomb = layer(gzip(await tarOf(entries)));
  const before = process.memoryUsage().arrayBuffers;
  const files = await readLayers([bomb], { wants: (p) => p === 'etc/os-release' });
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.equal(text(files, 'etc/os-release'), 'ID=alpine');
  assert.ok(grown < 128 << 20, `the drained entry was not kept (external memory grew by ${grown} bytes)`);
  // Wanted but past the per-file cap (128 MiB by default): skipped with a warning, not read.
  const capped = await readLayers([bomb], all);
  assert.equal(capped.files.has('big.img'), false);
  assert.match(capped.warnings.join('\n'), /big\.img in layer .* is 268435456 bytes, more than the 134217728/);
  await assert.rejects(readLayers([bomb], { wants: () => false, maxTotalBytes: 16 << 20 }), /decompress to more than 16777216 bytes/);
});

test('a layer that is no filesystem is skipped with a warning', async () => {
  const files = await readLayers([{ digest: 'sha256:abc', mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', open: async () => assert.fail('not opened') }], all);
  assert.equal(files.files.size, 0);
  assert.match(files.warnings[0]!, /sha256:abc has media type application\/vnd.dev.cosign.simplesigning.v1\+json, which is not a filesystem layer/);
});

test('a layer of many whiteouts over many kept files is read in seconds, not in (whiteouts × files) steps', async () => {
  const kept: Entry[] = Array.from({ length: 8_000 }, (_, i) => ({ name: `app/node_modules/m${i}/package.json`, data: '{}' }));
  const whiteouts: Entry[] = Array.from({ length: 40_000 }, (_, i) => ({ name: `junk/d${i % 100}/.wh.f${i}` }));
  whiteouts.push({ name: 'app/node_modules/m7/.wh.package.json' });
  const layers = [layer(await tarOf(kept), LAYER.tar), layer(await tarOf(whiteouts), LAYER.tar)];
  // CPU time, not wall time: the machine running the tests may be busy with other work.
  const started = process.cpuUsage();
  const files = await readLayers(layers, all);
  const used = process.cpuUsage(started);
  const seconds = (used.user + used.system) / 1e6;
  assert.equal(files.files.size, 7_999);
  assert.equal(files.files.has('app/node_modules/m7/package.json'), false);
  // A walk over the kept files per whiteout took ~20 s of CPU here; a set lookup each takes ~3 s.
  assert.ok(seconds < 10, `took ${seconds} s of CPU`);
});
