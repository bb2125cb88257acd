// Go build info found by content: an executable ELF file carrying Go 1.18+ build info (written
// here byte for byte as the Go linker lays it out) gives the stdlib and module versions, wherever
// the magic falls in the stream (across chunk boundaries too); non-executables, non-ELF files and
// the pre-1.18 format are not misread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inventoryOf } from '../../src/scan/inventory-of.js';
import { parseBuildInfo } from '../../src/scan/analyzers/go-binary.js';
import { gzip, layer, tarOf } from '../fixtures/scan/layers.js';

const SENTINEL_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const SENTINEL_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.from(out);
}

/** `\xff Go buildinf:`, pointer size 8, flags 2 (inline strings), padding to 32, then the two strings. */
function buildInfo(goVersion: string, modinfo: string, flags = 2): Buffer {
  const header = Buffer.alloc(32);
  header.write('\xff Go buildinf:', 0, 'latin1');
  header[14] = 8;
  header[15] = flags;
  const mod = Buffer.concat([SENTINEL_START, Buffer.from(modinfo), SENTINEL_END]);
  return Buffer.concat([header, varint(goVersion.length), Buffer.from(goVersion), varint(mod.length), mod]);
}

/** An ELF-looking file of `size` bytes with the build info at `offset`. */
function binary(info: Buffer, size: number, offset: number): Buffer {
  const data = Buffer.alloc(size, 0x90);
  data.write('\x7fELF', 0, 'latin1');
  info.copy(data, offset);
  return data;
}

const MODINFO = [
  'path\texample.com/app/cmd/app',
  'mod\texample.com/app\tv1.4.0\th1:abc=',
  'dep\tgolang.org/x/net\tv0.17.0\th1:x=',
  'dep\tgithub.com/old/yaml\tv2.2.0\th1:y=',
  '=>\tgithub.com/fork/yaml\tv2.4.0\th1:z=',
  'dep\texample.com/local\tv0.0.0',
  '=>\t./local\t(devel)\t',
  'build\tGOOS=linux',
  '',
].join('\n');

test('an executable ELF with Go build info lists stdlib, the main module and its dependencies (replacements applied)', async () => {
  const info = buildInfo('go1.21.5', MODINFO);
  // 65536 - 7: the magic straddles the 64 KiB chunks the layer is streamed in.
  const files = [
    { name: 'usr/local/bin/app', data: binary(info, 300_000, 65536 * 2 - 7), mode: 0o755 },
    { name: 'usr/share/doc/app.bin', data: binary(info, 20_000, 4096), mode: 0o644 },
    { name: 'opt/not-elf', data: Buffer.concat([Buffer.from('#!/bin/sh\n'), info, Buffer.alloc(2000)]), mode: 0o755 },
    { name: 'opt/old', data: binary(buildInfo('go1.16', '', 0), 10_000, 512), mode: 0o755 },
  ];
  const tar = await tarOf(files);
  const image = layer(gzip(tar));
  const inv = await inventoryOf([image]);
  assert.deepEqual(
    inv.packages.map((p) => `${p.path} ${p.name} ${p.version} ${p.purl}`),
    [
      'usr/local/bin/app stdlib 1.21.5 pkg:golang/stdlib@1.21.5',
      'usr/local/bin/app example.com/app 1.4.0 pkg:golang/example.com/app@v1.4.0',
      'usr/local/bin/app golang.org/x/net 0.17.0 pkg:golang/golang.org/x/net@v0.17.0',
      'usr/local/bin/app github.com/fork/yaml 2.4.0 pkg:golang/github.com/fork/yaml@v2.4.0',
    ],
  );
  assert.ok(inv.packages.every((p) => p.ecosystem === 'Go' && p.layerDigest === image.digest));
  assert.deepEqual(inv.warnings, ['go: opt/old: a Go binary whose build info is not in the Go 1.18+ format; its modules are not listed']);
  // A later layer that deletes the binary takes its modules with it.
  const gone = await inventoryOf([image, layer(gzip(await tarOf([{ name: 'usr/local/bin/.wh.app' }])))]);
  assert.equal(gone.packages.length, 0);
});

test('parseBuildInfo refuses garbage and the pre-1.18 format', () => {
  assert.equal(parseBuildInfo(Buffer.from('nothing here')), undefined);
  assert.equal(parseBuildInfo(buildInfo('go1.16', '', 0)), undefined);
  assert.equal(parseBuildInfo(buildInfo('not-go', 'path\tx\n')), undefined);
  assert.deepEqual(parseBuildInfo(buildInfo('go1.22.1', 'path\tcmd/x\n')), { goVersion: 'go1.22.1', path: 'cmd/x', deps: [] });
});
