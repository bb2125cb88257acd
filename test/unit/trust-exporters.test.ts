// Client trust exports: every format puts the CA where that client looks for it, the scripts are
// valid POSIX shell, the Kubernetes documents are valid YAML of the right kinds.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { run, runOk } from '../helpers/peers.js';
import { tempDir } from '../helpers/registry.js';
import { encodePkcs12 } from '../../src/tls/pkcs12.js';
import { FileKeyValueStore } from '../../src/coordination/files.js';
import { PrivateCa } from '../../src/tls/private-ca.js';
import { exportTrust, installScript, toShellScript, TRUST_FORMATS, type TrustFormat } from '../../src/tls/trust-exporters.js';

let tmp: string;
let caPem: string;
before(async () => {
  tmp = await tempDir('minato-trust-unit-');
  caPem = (await PrivateCa.create(new FileKeyValueStore(path.join(tmp, 'data')), { validityYears: 1 })).certPem;
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('each client gets the CA at its own path for host:port', () => {
  const host = 'registry.lan:5443';
  const paths = (f: TrustFormat) => exportTrust(f, { caPem, host }).files.map((x) => x.path);
  assert.deepEqual(paths('docker'), ['/etc/docker/certs.d/registry.lan:5443/ca.crt']);
  assert.deepEqual(paths('containerd'), ['/etc/containerd/certs.d/registry.lan:5443/ca.crt', '/etc/containerd/certs.d/registry.lan:5443/hosts.toml']);
  assert.deepEqual(paths('podman'), ['/etc/containers/certs.d/registry.lan:5443/ca.crt']);
  assert.deepEqual(paths('debian'), ['/usr/local/share/ca-certificates/minato-registry.lan-5443.crt']);
  assert.deepEqual(exportTrust('debian', { caPem, host }).commands, ['update-ca-certificates']);
  assert.deepEqual(paths('rhel'), ['/etc/pki/ca-trust/source/anchors/minato-registry.lan-5443.crt']);
  assert.match(exportTrust('rhel', { caPem, host }).commands[0]!, /^update-ca-trust/);
  assert.deepEqual(exportTrust('docker', { caPem, host: 'registry.lan:443' }).files[0]!.path, '/etc/docker/certs.d/registry.lan/ca.crt', 'port 443 is left out, as docker does');
  const toml = exportTrust('containerd', { caPem, host }).files[1]!.content as string;
  assert.match(toml, /^server = "https:\/\/registry.lan:5443"$/m);
  assert.match(toml, /^\[host\."https:\/\/registry.lan:5443"\]\n {2}capabilities = \["pull", "resolve", "push"\]\n {2}ca = "\/etc\/containerd\/certs.d\/registry.lan:5443\/ca.crt"$/m);
  for (const f of ['docker', 'podman', 'debian', 'rhel'] as const) assert.equal(exportTrust(f, { caPem, host }).files[0]!.content, caPem.trim() + '\n');
  assert.throws(() => exportTrust('docker', { caPem, host: 'x;rm -rf /' }), /not a registry host/);
});

test('k3s registries.yaml, the DaemonSet and the pull secret are valid YAML of the right shape', () => {
  const host = 'registry.lan:5443';
  const k3s = exportTrust('k3s', { caPem, host });
  const reg = parseAllDocuments(k3s.files[1]!.content as string)[0]!.toJS();
  assert.equal(reg.configs['registry.lan:5443'].tls.ca_file, k3s.files[0]!.path);

  const ds = parseAllDocuments(exportTrust('k8s-daemonset', { caPem, host }).document!.content as string).map((d) => d.toJS());
  assert.deepEqual(ds.map((d) => d.kind), ['ConfigMap', 'DaemonSet']);
  assert.equal(ds[0].data['ca.crt'], caPem.trim() + '\n');
  assert.match(ds[0].data['hosts.toml'], /server = "https:\/\/registry.lan:5443"/);
  const spec = ds[1].spec.template.spec;
  assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }], 'runs on every node, control plane included');
  assert.deepEqual(spec.volumes.filter((v: { hostPath?: { path: string } }) => v.hostPath).map((v: { hostPath: { path: string } }) => v.hostPath.path), ['/etc/containerd/certs.d', '/etc/docker/certs.d', '/etc/containers/certs.d']);
  assert.match(spec.containers[0].args[0], /registry.lan:5443\/ca.crt/);

  assert.throws(() => exportTrust('k8s-pull-secret', { caPem, host }), /--user/);
  const secret = parseAllDocuments(exportTrust('k8s-pull-secret', { caPem, host, user: 'ci', password: 'p@ss' }).document!.content as string)[0]!.toJS();
  assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
  const cfg = JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString());
  assert.deepEqual(cfg.auths['registry.lan:5443'], { username: 'ci', password: 'p@ss', auth: Buffer.from('ci:p@ss').toString('base64') });
});

test('the printed scripts and install.sh are valid sh; install.sh with PREFIX writes the certs.d files', async () => {
  for (const f of Object.keys(TRUST_FORMATS) as TrustFormat[]) {
    if (f === 'k8s-pull-secret' || f === 'p12') continue;
    const file = path.join(tmp, `${f}.sh`);
    await writeFile(file, toShellScript(exportTrust(f, { caPem, host: '[::1]:5000' })));
    const r = await run('sh', ['-n', file]);
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
  const script = path.join(tmp, 'install.sh');
  await writeFile(script, installScript(caPem, '127.0.0.1:5443'));
  assert.equal((await run('sh', ['-n', script])).code, 0);
  const prefix = path.join(tmp, 'prefix');
  // Which clients it finds depends on the machine; whatever it reports installed must be the CA.
  const r = await runOk('sh', [script], { env: { PREFIX: prefix, MINATO_SYSTEM_STORE: '0' } });
  assert.match(r.stdout, /is trusted/);
  const installed = [...r.stdout.matchAll(/^installed (\S+)$/gm)].map((m) => m[1]!);
  assert.ok(installed.length > 0);
  for (const f of installed) {
    assert.ok(f.startsWith(prefix) && f.endsWith('/127.0.0.1:5443/ca.crt'), f);
    assert.equal(await readFile(f, 'utf8'), caPem.trim() + '\n');
  }
});

test('PKCS#12 holds exactly the CA certificate and no key', async () => {
  const p12 = await encodePkcs12(caPem);
  const file = path.join(tmp, 'ca.p12');
  await writeFile(file, p12);
  const out = (await runOk('openssl', ['pkcs12', '-in', file, '-passin', 'pass:', '-nokeys'])).stdout;
  assert.equal((out.match(/BEGIN CERTIFICATE/g) ?? []).length, 1);
  assert.ok(out.replace(/\r/g, '').includes(caPem.trim()));
  const keys = (await runOk('openssl', ['pkcs12', '-in', file, '-passin', 'pass:', '-nocerts', '-nodes'])).stdout;
  assert.doesNotMatch(keys, /PRIVATE KEY/);
  assert.equal(exportTrust('p12', { caPem, host: 'h:1', pkcs12: p12 }).document!.content, p12);
});
