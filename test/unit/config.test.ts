import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { configDocs } from '../../src/config/docs.js';
import { ConfigError, configKeys, loadConfig, parseConfig } from '../../src/config/load.js';
import { redact } from '../../src/config/redact.js';
import { plainHttpWarning } from '../../src/server/listen.js';
import { ROOT, tempDir } from '../helpers/registry.js';

test('defaults give a loopback registry on port 5000 with auth and no TLS', async () => {
  const c = await loadConfig({ env: {} });
  assert.equal(c.listen, '127.0.0.1:5000');
  assert.equal(c.data, './data');
  assert.equal(c.tls.mode, 'off');
  assert.equal(c.auth.anonymousPull, false);
  assert.equal(c.auth.token.enabled, true);
  assert.equal(c.registry.maxManifestBytes, 4 * 1024 * 1024);
});

test('file < environment < flags', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'minato.yaml');
    await writeFile(file, 'listen: 127.0.0.1:6000\nauth:\n  anonymousPull: true\n  token:\n    ttlSeconds: 120\nregistry:\n  deleteEnabled: false\n');
    const c = await loadConfig({
      file,
      env: { MINATO_AUTH_TOKEN_TTL_SECONDS: '90', MINATO_TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2', MINATO_LISTEN: '127.0.0.1:7000' },
      overrides: { listen: '127.0.0.1:8000' },
    });
    assert.equal(c.listen, '127.0.0.1:8000');
    assert.equal(c.auth.anonymousPull, true);
    assert.equal(c.auth.token.ttlSeconds, 90);
    assert.deepEqual(c.trustedProxies, ['10.0.0.1', '10.0.0.2']);
    assert.equal(c.registry.deleteEnabled, false);
    assert.equal(c.auth.token.service, 'minato'); // nested defaults survive a partial section
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('broken configuration is reported with the key and the file position', async () => {
  const dir = await tempDir();
  try {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'listen: [unclosed\n');
    await assert.rejects(loadConfig({ file: bad, env: {} }), (e: unknown) => e instanceof ConfigError && /not valid YAML \(line \d+/.test(e.message));
    await writeFile(bad, 'auth:\n  token:\n    ttlSeconds: 5\nregistry:\n  deleteEnabled: maybe\n');
    await assert.rejects(loadConfig({ file: bad, env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /auth\.token\.ttlSeconds/);
      assert.match(e.message, /registry\.deleteEnabled/);
      return true;
    });
    // A typo is refused, not ignored (it would silently leave the default in force).
    await writeFile(bad, 'listne: 0.0.0.0:5000\ntls:\n  acme:\n    agreeToTerm: true\n    dns: { kind: cloudflare, apiTokne: x }\n');
    await assert.rejects(loadConfig({ file: bad, env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /\(top level\): unknown key "listne" \(did you mean "listen"\?\)/);
      assert.match(e.message, /tls\.acme: unknown key "agreeToTerm" \(did you mean "agreeToTerms"\?\)/);
      assert.match(e.message, /tls\.acme\.dns: unknown key "apiTokne"/);
      return true;
    });
    await assert.rejects(loadConfig({ file: path.join(dir, 'missing.yaml'), env: {} }), /cannot read config file/);
    await assert.rejects(loadConfig({ env: { MINATO_AUTH_ANONYMOUS_PULL: 'perhaps' } }), /MINATO_AUTH_ANONYMOUS_PULL: expected true or false/);
    await assert.rejects(loadConfig({ env: { MINATO_TLS_MODE: 'files' } }), /needs both tls.cert and tls.key/);
    await assert.rejects(loadConfig({ env: { MINATO_EXTERNAL_URL: 'not a url' } }), /externalUrl/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('TLS mode follows the files when unset', async () => {
  const c = await loadConfig({ env: { MINATO_TLS_CERT: '/c.pem', MINATO_TLS_KEY: '/k.pem' } });
  assert.equal(c.tls.mode, 'files');
});

test('every key has one distinct MINATO_* name and a description', () => {
  const keys = configKeys();
  assert.equal(new Set(keys.map((k) => k.env)).size, keys.length);
  for (const k of keys) assert.ok(k.description.length > 10, `${k.path.join('.')} needs a description`);
  assert.ok(keys.some((k) => k.env === 'MINATO_AUTH_ANONYMOUS_PULL'));
});

test('every key of every DNS provider is documented, with its kind, type and default', () => {
  const docs = configDocs();
  const union = configKeys().find((k) => k.path.join('.') === 'tls.acme.dns')?.union;
  assert.ok(union, 'tls.acme.dns is described as a union');
  assert.deepEqual(union.members.map((m) => m.value), ['rfc2136', 'route53', 'cloudflare', 'exec']);
  assert.equal(configKeys().find((k) => k.path.join('.') === 'ddns.provider')?.union?.schema, union.schema, 'ddns.provider shares the section');
  for (const m of union.members) {
    assert.ok(m.description.length > 40, `kind ${m.value} needs a description`);
    const section = docs.slice(docs.indexOf(`### \`kind: ${m.value}\``));
    assert.ok(section.length < docs.length, `a section for kind ${m.value}`);
    for (const k of m.keys) {
      assert.ok(k.description.length > 20, `${m.value}.${k.path.join('.')} needs a description`);
      assert.ok(section.includes(`| \`${k.path.join('.')}\` |`), `${m.value}.${k.path.join('.')} is in its section`);
    }
  }
  assert.match(docs, /\| `secret` \| string \| required \|/);
  assert.match(docs, /\| `timeoutMs` \| number \| `2000` \|/);
  assert.match(docs, /\| `env` \| map of string to string \| {2}\|/);
  assert.match(docs, /MINATO_DNS_NAME/);
});

test('docs/configuration.md is what `minato config docs` prints', async () => {
  const onDisk = await readFile(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
  assert.equal(onDisk, configDocs(), 'regenerate with: node bin/minato.js config docs > docs/configuration.md');
});

test('secrets never leave `config check` in clear', () => {
  const out = redact({ tls: { acme: { eab: { kid: 'k', hmacKey: 'HMAC' }, dns: { kind: 'rfc2136', secret: 'TSIG', keyName: 'acme-key' } } }, ddns: { provider: { kind: 'cloudflare', apiToken: 'CF' } }, listen: 'x' });
  const text = JSON.stringify(out);
  for (const secret of ['HMAC', 'TSIG', 'CF']) assert.ok(!text.includes(`"${secret}"`), secret);
  assert.match(text, /"kid":"k"/);
  assert.match(text, /"keyName":"acme-key"/);
});

test('database: SQLite by default; PostgreSQL from the file or MINATO_DATABASE, with its defaults; a URL that is none is refused', async () => {
  assert.deepEqual((await loadConfig({ env: {} })).database, { driver: 'sqlite' });
  const url = 'postgres://minato:pw@db.example.com:5432/minato?sslmode=verify-full';
  const fromEnv = await loadConfig({ env: { MINATO_DATABASE: JSON.stringify({ driver: 'postgres', url }) } });
  assert.deepEqual(fromEnv.database, { driver: 'postgres', url, maxConnections: 10, statementTimeoutSeconds: 30 });
  const fromFile = parseConfig({ database: { driver: 'postgres', url, maxConnections: 4, statementTimeoutSeconds: 0 } });
  assert.deepEqual(fromFile.database, { driver: 'postgres', url, maxConnections: 4, statementTimeoutSeconds: 0 });
  assert.throws(() => parseConfig({ database: { driver: 'postgres', url: 'db.example.com:5432' } }), /database\.url: a postgres:\/\/ \(or postgresql:\/\/\) URL/);
  assert.throws(() => parseConfig({ database: { driver: 'postgres' } }), /database\.url/);
  assert.throws(() => parseConfig({ database: { driver: 'sqlite', url } }), /unknown key "url"/);
  assert.throws(() => parseConfig({ database: { driver: 'mysql' } }), /database\.driver/);
});

test('a URL password never leaves `config check` in clear, however odd the password', () => {
  for (const password of ['pw', 's3cr@t', 'sl/ash:colon@at']) {
    const text = JSON.stringify(redact({ database: { driver: 'postgres', url: `postgres://minato:${password}@db.example.com:5432/minato` } }));
    assert.ok(!text.includes(password), password);
    assert.match(text, /"url":"postgres:\/\/minato:<redacted>@db\.example\.com:5432\/minato"/);
  }
  // Without a password nothing changes.
  const plain = 'postgres://minato@db.example.com/minato?application_name=a:b';
  assert.equal(redact({ url: plain }).url, plain);
  assert.equal(redact({ externalUrl: 'https://registry.example.com' }).externalUrl, 'https://registry.example.com');
});

test('plain HTTP on an address other machines reach is warned about, unless a TLS proxy is in front', () => {
  const warn = (c: Record<string, unknown>) => plainHttpWarning(parseConfig(c));
  assert.match(warn({ listen: '0.0.0.0:5000' }) ?? '', /plain HTTP on 0\.0\.0\.0:5000: passwords and tokens cross the network in clear/);
  assert.match(warn({ listen: '[::]:5000' }) ?? '', /in clear/);
  for (const quiet of [
    { listen: '127.0.0.1:5000' },
    { listen: '[::1]:5000' },
    { listen: 'localhost:5000' },
    { listen: '0.0.0.0:5000', tls: { mode: 'ca' } },
    { listen: '0.0.0.0:5000', externalUrl: 'https://registry.example.com' },
    { listen: '0.0.0.0:5000', trustedProxies: ['10.0.0.2'] },
  ]) {
    assert.equal(warn(quiet), undefined, JSON.stringify(quiet));
  }
});

test('storage.driver: filesystem by default with directIO where it was; s3 from YAML or JSON in the environment, typos refused, the secret redacted', async () => {
  const defaults = await loadConfig({ env: {} });
  assert.deepEqual(defaults.storage.driver, { kind: 'filesystem' });
  assert.equal((await loadConfig({ env: { MINATO_STORAGE_DIRECT_IO: 'false' } })).storage.directIO, false);
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'minato.yaml');
    await writeFile(
      file,
      'storage:\n  driver:\n    kind: s3\n    bucket: layers\n    endpoint: http://127.0.0.1:7480\n    credentials: { accessKeyId: AK, secretAccessKey: very-secret }\n',
    );
    const c = await loadConfig({ file, env: {} });
    assert.ok(c.storage.driver.kind === 's3');
    assert.equal(c.storage.driver.bucket, 'layers');
    assert.equal(c.storage.driver.region, 'us-east-1');
    assert.equal(c.storage.driver.prefix, '');
    assert.deepEqual(c.storage.driver.redirect, { enabled: false, ttlSeconds: 600 });
    assert.equal(c.storage.driver.forcePathStyle, undefined);
    assert.doesNotMatch(JSON.stringify(redact(c)), /very-secret/);
    // Credentials may be left to the AWS environment variables.
    const fromEnv = await loadConfig({ env: { MINATO_STORAGE_DRIVER: '{"kind":"s3","bucket":"layers","redirect":{"enabled":true}}' } });
    assert.ok(fromEnv.storage.driver.kind === 's3' && fromEnv.storage.driver.credentials === undefined && fromEnv.storage.driver.redirect.enabled);
    await writeFile(file, 'storage:\n  driver:\n    kind: s3\n    bucket: layers\n    endpiont: http://127.0.0.1:7480\n');
    await assert.rejects(loadConfig({ file, env: {} }), /storage\.driver: unknown key "endpiont"/);
    await writeFile(file, 'storage:\n  driver:\n    kind: s3\n    bucket: my/bucket\n');
    await assert.rejects(loadConfig({ file, env: {} }), /storage\.driver\.bucket: a bucket name/);
    await writeFile(file, 'storage:\n  driver:\n    kind: filesystem\n    bucket: layers\n');
    await assert.rejects(loadConfig({ file, env: {} }), /storage\.driver: unknown key "bucket"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
