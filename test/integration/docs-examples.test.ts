// Every configuration example in the docs (each ```yaml block of docs/*.md and README.md) is a
// configuration minato loads as written, and the private-CA example starts a registry: a reader
// who copies one gets what the text says, not a start-up error.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { request } from '../helpers/http.js';
import { ROOT, startTestRegistry, tempDir } from '../helpers/registry.js';

interface Example {
  file: string;
  line: number;
  yaml: string;
}

/** Blocks that are not whole configurations, with the reason; none today. */
const NOT_A_CONFIG: Array<{ file: string; startsWith: string; reason: string }> = [];

async function examples(): Promise<Example[]> {
  const files = [...(await readdir(path.join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)), 'README.md'];
  const out: Example[] = [];
  for (const file of files) {
    const lines = (await readFile(path.join(ROOT, file), 'utf8')).split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() !== '```yaml') continue;
      const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
      assert.ok(end > i, `${file}:${i + 1}: the yaml block is not closed`);
      out.push({ file, line: i + 1, yaml: lines.slice(i + 1, end).join('\n') + '\n' });
      i = end;
    }
  }
  return out;
}

describe('configuration examples in the docs', () => {
  let tmp: string;
  let all: Example[];
  before(async () => {
    tmp = await tempDir('minato-docs-examples-');
    all = await examples();
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  test('there are examples to check (the extraction works)', () => {
    assert.ok(all.length >= 4, `found ${all.length} yaml blocks`);
    assert.ok(all.some((e) => /mode: ca/.test(e.yaml)), 'the private-CA example is among them');
  });

  test('each one loads through the configuration loader as written', async () => {
    for (const [i, e] of all.entries()) {
      if (NOT_A_CONFIG.some((x) => x.file === e.file && e.yaml.startsWith(x.startsWith))) continue;
      const file = path.join(tmp, `example-${i}.yaml`);
      await writeFile(file, e.yaml);
      await loadConfig({ file, env: {} }).catch((err: Error) => assert.fail(`${e.file}:${e.line}: ${err.message}\n${e.yaml}`));
    }
  });

  test('the private-CA example (name constraints) starts a registry whose certificate holds its names', async () => {
    const example = all.find((e) => e.file === path.join('docs', 'operations.md') && /mode: ca/.test(e.yaml) && /permittedNames/.test(e.yaml));
    assert.ok(example, 'docs/operations.md has the private-CA example with permittedNames');
    // As written, on a test port and data dir (the example leaves both at their defaults).
    const reg = await startTestRegistry(parseYaml(example.yaml) as Record<string, unknown>);
    try {
      const leaf = new X509Certificate(await readFile(path.join(reg.dataDir, 'ca', 'server.crt'), 'utf8'));
      assert.equal(leaf.subjectAltName, 'DNS:registry.lan, IP Address:192.168.1.10');
      const ca = await readFile(path.join(reg.dataDir, 'ca', 'ca.crt'), 'utf8');
      const res = await request(`${reg.url}/v2/`, { ca, servername: 'registry.lan' });
      assert.equal(res.status, 401, 'TLS with the issued certificate verifies against the constrained CA');
    } finally {
      await reg.close();
    }
  });
});
