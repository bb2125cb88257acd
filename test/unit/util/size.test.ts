// Sizes as people write them (configuration, CLI) and read them (quota refusals).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import { describeSize, formatSize, parseSize, parseStorageLimit } from '../../../src/util/size.js';

test('parseSize takes bytes and sizes with SI or IEC units, and refuses anything else', () => {
  const cases: Array<[string | number, number]> = [
    [0, 0],
    [1234, 1234],
    [-1, -1],
    ['-1', -1],
    ['1234', 1234],
    ['500MB', 500e6],
    ['10GiB', 10 * 2 ** 30],
    ['1.5 kib', 1536],
    ['2tb', 2e12],
    ['1PiB', 2 ** 50],
    ['7 B', 7],
  ];
  for (const [input, bytes] of cases) assert.equal(parseSize(input), bytes, String(input));
  for (const bad of ['', 'lots', '10 GB extra', '1.5', '0.1B', '10XB', '-5', '1e3']) assert.throws(() => parseSize(bad), /is not a|whole number/, bad);
  for (const bad of [-2, 1.5, Number.NaN]) assert.throws(() => parseSize(bad), /not a size in bytes/, String(bad));
});

test('a storage limit is at most 1 PiB', () => {
  assert.equal(parseStorageLimit('1PiB'), 2 ** 50);
  assert.throws(() => parseStorageLimit('2PiB'), /above the largest storage limit, 1\.0 PiB/);
});

test('sizes read well in messages', () => {
  assert.equal(formatSize(812), '812 bytes');
  assert.equal(formatSize(10_240), '10.0 KiB');
  assert.equal(formatSize(9_961_472), '9.5 MiB');
  assert.equal(describeSize(16_384), '16.0 KiB (16384 bytes)');
  assert.equal(describeSize(0), '0 bytes');
});

test('quota.defaultStorageLimit: a size from the file or the environment, -1 by default', async () => {
  assert.equal(parseConfig({}).quota.defaultStorageLimit, -1);
  assert.equal(parseConfig({ quota: { defaultStorageLimit: '10GiB' } }).quota.defaultStorageLimit, 10 * 2 ** 30);
  assert.equal(parseConfig({ quota: { defaultStorageLimit: 5000 } }).quota.defaultStorageLimit, 5000);
  assert.throws(() => parseConfig({ quota: { defaultStorageLimit: 'big' } }), /quota\.defaultStorageLimit: "big" is not a size/);
  assert.equal((await loadConfig({ env: { MINATO_QUOTA_DEFAULT_STORAGE_LIMIT: '500MB' } })).quota.defaultStorageLimit, 500e6);
  assert.equal((await loadConfig({ env: { MINATO_QUOTA_DEFAULT_STORAGE_LIMIT: '-1' } })).quota.defaultStorageLimit, -1);
});
