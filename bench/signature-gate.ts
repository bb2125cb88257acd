// The cost of the signature gate on hot manifest pulls: two minato servers in one interleaved
// `regbench --compare` of manifest-hot, "off" (no trust policy) and "enforce" (the project's
// policy at enforce, the hot image signed with cosign by a trusted key), so both see the same
// machine at the same moments. A first short regbench run against each pushes the deterministic
// image regbench hammers; then the image is signed and the policy set on "enforce" only.
//
//   npm run build && node dist/bench/signature-gate.js [--regbench DIR] [--runs N] [--duration T]
//
// DIR: a regbench checkout with its dependency installed (default ../shared/regbench).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from '../test/helpers/http.js';
import { cosignPayload, makeKey, pushCosignSignature, signWith } from '../test/helpers/signatures.js';
import { startMinato, stopPid, type NodeServer } from './processes.js';

const run = promisify(execFile);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
  };
  const regbench = path.resolve(opt('--regbench', path.join(import.meta.dirname, '..', '..', '..', 'shared', 'regbench')));
  const bin = path.join(regbench, 'bin', 'regbench.mjs');
  const work = mkdtempSync(path.join(os.tmpdir(), 'minato-sig-bench-'));
  const servers: NodeServer[] = [];
  try {
    for (const name of ['off', 'enforce']) {
      const dir = path.join(work, name);
      await run('mkdir', ['-p', dir]);
      servers.push(await startMinato(dir));
    }
    const [off, enforce] = servers as [NodeServer, NodeServer];
    const auth = (s: NodeServer) => `Basic ${Buffer.from(`${s.user}:${s.password}`).toString('base64')}`;
    // Setup: regbench pushes regbench/hot:latest (deterministic) to each.
    for (const s of servers) await run(process.execPath, [bin, '--scenarios', 'manifest-hot', '--duration', '1s', '--warmup', '0s', '--user', s.user!, `--password=${s.password}`, s.url], { cwd: regbench });
    const head = await request(`${enforce.url}/v2/regbench/hot/manifests/latest`, { method: 'HEAD', headers: { Authorization: auth(enforce), Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const digest = String(head.headers['docker-content-digest']);
    const size = Number(head.headers['content-length']);
    const key = makeKey();
    const payload = cosignPayload('regbench/hot', digest);
    await pushCosignSignature(enforce.url, auth(enforce), 'regbench/hot', { digest, size }, [{ payload, signature: signWith(key, payload) }]);
    const put = await request(`${enforce.url}/api/v2.0/projects/regbench/trust`, {
      method: 'PUT',
      headers: { Authorization: auth(enforce), 'Content-Type': 'application/json' },
      body: JSON.stringify({ level: 'enforce', public_keys: [{ name: 'bench', pem: key.pem }] }),
    });
    if (put.status !== 200) throw new Error(`setting the trust policy answered ${put.status}: ${put.text}`);
    // The gate must really run: an unsigned manifest of the project is refused.
    const check = await request(`${enforce.url}/v2/regbench/hot/manifests/latest`, { headers: { Authorization: auth(enforce), Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    if (check.status !== 200) throw new Error(`the signed image answered ${check.status}: ${check.text}`);
    process.stderr.write(`signature-gate: regbench/hot@${digest} signed; policy enforce on ${enforce.url}, none on ${off.url}\n`);
    const compare = [
      bin, '--scenarios', 'manifest-hot', '--runs', opt('--runs', '2'), '--duration', opt('--duration', '5s'),
      '--label', 'off', '--pid', String(off.pid), '--user', off.user!, `--password=${off.password}`, off.url,
      '--compare', enforce.url, '--label2', 'enforce', '--pid2', String(enforce.pid), '--user2', enforce.user!, `--password2=${enforce.password}`,
    ];
    const child = spawn(process.execPath, compare, { cwd: regbench, stdio: ['ignore', 'inherit', 'inherit'] });
    await new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`regbench exited with ${code}`)))));
  } finally {
    for (const s of servers) await stopPid(s.pid);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`signature-gate: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
