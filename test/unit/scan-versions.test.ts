// Version comparison (scan/versions): dpkg against `dpkg --compare-versions` and rpm against
// rpm's own rpm.vercmp on hundreds of generated pairs (~, ^, epochs, revisions, letters); apk
// table-driven from the rules of apk-tools' version.c; semver and the ecosystem mapping.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { compareApk } from '../../src/scan/versions/apk.js';
import { compareDpkg } from '../../src/scan/versions/dpkg.js';
import { compare, schemeOf } from '../../src/scan/versions/index.js';
import { compareRpm } from '../../src/scan/versions/rpm.js';

/** A small deterministic generator, so that a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function dpkgVersion(r: () => number): string {
  const part = (first: boolean, chars: readonly string[]) => {
    let s = first ? String(Math.floor(r() * 12)) : pick(r, ['0', '1', '2', '10']);
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) s += pick(r, chars) + (r() < 0.6 ? String(Math.floor(r() * 20)) : '');
    return s;
  };
  const epoch = r() < 0.2 ? `${Math.floor(r() * 3)}:` : '';
  const upstream = part(true, ['.', '.', '~', '+', 'a', 'b', 'rc', '~rc', '+dfsg', 'z', '.0', '00']);
  const revision = r() < 0.6 ? `-${part(false, ['.', '+', '~', 'deb', 'ubuntu', 'b', '+deb12u'])}` : '';
  return epoch + upstream + revision;
}

function rpmVersion(r: () => number): string {
  const part = () => {
    let s = String(Math.floor(r() * 12));
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) s += pick(r, ['.', '.', '~', '^', '_', '+', 'a', 'rc', 'el', '.0', '00', 'git']) + (r() < 0.6 ? String(Math.floor(r() * 20)) : '');
    return s;
  };
  const epoch = r() < 0.2 ? `${Math.floor(r() * 3)}:` : '';
  return epoch + part() + (r() < 0.7 ? `-${part()}` : '');
}

/** Pairs of generated versions, and near pairs (one edited a little) where order is subtle. */
function pairs(gen: (r: () => number) => string, seed: number, n: number): Array<[string, string]> {
  const r = rng(seed);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const a = gen(r);
    const b = r() < 0.5 ? gen(r) : a + pick(r, ['~1', '^1', '.0', 'a', '+b1', '-1', '~', '0']);
    out.push([a, b]);
  }
  out.push(['1.0~rc1', '1.0'], ['1.0', '1.0-1'], ['1.0-1', '1.0+b1'], ['1.0+b1', '1:0.1'], ['1.0', '1.0'], ['2.36-9+deb12u4', '2.36-9+deb12u10']);
  return out;
}

test('dpkg order equals dpkg --compare-versions on hundreds of generated pairs', () => {
  const all = pairs(dpkgVersion, 42, 400).filter(([a, b]) => !/-$/.test(a) && !/-$/.test(b));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minato-dpkg-'));
  try {
    writeFileSync(path.join(dir, 'pairs'), all.map(([a, b]) => `${a} ${b}\n`).join(''));
    const script = 'while read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done < "$1"';
    const oracle = execFileSync('sh', ['-c', script, 'sh', path.join(dir, 'pairs')], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.equal(oracle.length, all.length);
    const wrong = all.filter(([a, b], i) => Math.sign(compareDpkg(a, b)) !== oracle[i]).map(([a, b]) => `${a} ? ${b}`);
    assert.deepEqual(wrong, []);
    // The generator made both orders and equal pairs (the test can fail either way).
    assert.ok(oracle.includes(-1) && oracle.includes(1) && oracle.includes(0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rpm order equals rpm.vercmp (rpm 4.18) on hundreds of generated pairs, with ~ and ^', () => {
  const all = pairs(rpmVersion, 7, 400);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minato-rpm-'));
  try {
    const lua = path.join(dir, 'pairs.lua');
    writeFileSync(lua, all.map(([a, b]) => `print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) .. ' ')\n`).join(''));
    const oracle = execFileSync('rpm', ['--eval', `%{lua: dofile(${JSON.stringify(lua)})}`], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    assert.equal(oracle.length, all.length);
    const wrong = all.filter(([a, b], i) => compareRpm(a, b) !== oracle[i]).map(([a, b], i) => `${a} ? ${b} (rpm: ${oracle[i]})`);
    assert.deepEqual(wrong, []);
    assert.ok(all.some(([a, b]) => /\^/.test(a + b)) && all.some(([a, b]) => /~/.test(a + b)));
    assert.ok(oracle.includes(-1) && oracle.includes(1) && oracle.includes(0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('apk order follows apk-tools: fractions, letters, suffixes, revisions', () => {
  // Each row: a sorts before b. Written from the rules of apk-tools src/version.c.
  const ascending: Array<[string, string]> = [
    ['1.2.3_rc1', '1.2.3'],
    ['1.2.3', '1.2.3-r1'],
    ['1.2', '1.2-r0'],
    ['1.2.3-r1', '1.2.3_p1'],
    ['1.2.3_p1', '1.2.3a'],
    ['1.2.3a', '1.2.3.1'],
    ['0.1.0_alpha', '2.34'],
    ['1.01', '1.1'],
    ['1.001', '1.01'],
    ['1.0', '1.1'],
    ['1', '1.0'],
    ['1.9', '1.10'],
    ['1.2_alpha', '1.2_beta'],
    ['1.2_beta', '1.2_pre'],
    ['1.2_pre', '1.2_rc'],
    ['1.2_rc', '1.2'],
    ['1.2_cvs', '1.2_svn'],
    ['1.2_svn', '1.2_git'],
    ['1.2_git', '1.2_hg'],
    ['1.2_hg', '1.2_p'],
    ['1.2_rc1', '1.2_rc2'],
    ['1.2_rc9', '1.2_rc10'],
    ['1.2_p1', '1.2_p2'],
    ['1.2-r9', '1.2-r10'],
    ['1.2a', '1.2b'],
    ['1.2a-r5', '1.2b'],
    ['3.0.8-r0', '3.0.8-r1'],
    ['3.0.8-r3', '3.0.9-r0'],
    ['1.36.1-r2', '1.36.1-r15'],
    ['2.9.14-r0', '2.10.0-r0'],
    ['1.2.3_alpha_rc1', '1.2.3_alpha'],
    ['1.2_pre2', '1.2-r0'],
    ['20230101', '20240101'],
  ];
  for (const [a, b] of ascending) {
    assert.ok(compareApk(a, b) < 0, `${a} < ${b}`);
    assert.ok(compareApk(b, a) > 0, `${b} > ${a}`);
  }
  for (const v of ['1.2.3', '1.2.3-r1', '1.2_rc1', '1.01']) assert.equal(compareApk(v, v), 0);
});

test('compare() picks the scheme; ecosystems map to the scheme of their package manager', () => {
  assert.equal(schemeOf('Debian:12'), 'dpkg');
  assert.equal(schemeOf('Ubuntu:22.04:LTS'), 'dpkg');
  assert.equal(schemeOf('Alpine:v3.19'), 'apk');
  assert.equal(schemeOf('Wolfi'), 'apk');
  assert.equal(schemeOf('Red Hat:enterprise_linux:9::baseos'), 'rpm');
  assert.equal(schemeOf('AlmaLinux:9'), 'rpm');
  assert.equal(schemeOf('npm'), 'semver');
  assert.equal(schemeOf('Go'), 'go');
  assert.equal(compare('semver', '1.2.3-beta.2', '1.2.3-beta.10'), -1);
  assert.equal(compare('semver', '1.10.0', '1.9.9'), 1);
  assert.equal(compare('go', 'v0.17.0', 'v0.9.1'), 1);
  assert.equal(compare('dpkg', '1.0~rc1', '1.0'), -1);
  assert.equal(compare('pep440', '2.0rc1', '2.0'), -1);
  assert.equal(compare('pep440', '2.0', '2.0.1'), -1);
});
