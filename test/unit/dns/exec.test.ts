// The exec hook runs a real shell script per record with the MINATO_DNS_* environment, without a
// shell of its own; failures carry stderr; a hung command is killed at the timeout.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecProvider } from '../../../src/dns/exec.js';
import { DnsHookError } from '../../../src/dns/errors.js';
import { createDnsProvider } from '../../../src/dns/registry.js';

let dir: string;
let script: string;
let out: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'minato-exec-'));
  out = path.join(dir, 'calls.log');
  script = path.join(dir, 'hook.sh');
  await writeFile(
    script,
    `#!/bin/sh
# test hook: one line per call; "fail" as a value makes it fail loudly
echo "$1 $MINATO_DNS_ACTION $MINATO_DNS_TYPE $MINATO_DNS_NAME $MINATO_DNS_VALUE $MINATO_DNS_TTL $EXTRA" >> "${out}"
if [ "$MINATO_DNS_VALUE" = "fail" ]; then echo "provider said: quota exceeded" >&2; exit 3; fi
exit 0
`,
  );
  await chmod(script, 0o755);
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('exec hook provider', () => {
  it('runs present/cleanup once per record with the record in MINATO_DNS_* variables', async () => {
    const p = createDnsProvider({ kind: 'exec', present: [script, 'add'], cleanup: [script, 'del'], env: { EXTRA: 'x=1' } });
    await p.appendRecords([
      { name: '_acme-challenge.a.example.test.', type: 'TXT', value: 'v 1; $(not run)', ttl: 60 },
      { name: '_acme-challenge.b.example.test', type: 'TXT', value: 'v2', ttl: 120 },
    ]);
    await p.deleteRecords([{ name: '_acme-challenge.a.example.test', type: 'TXT', value: 'v 1; $(not run)', ttl: 60 }]);
    assert.deepEqual((await readFile(out, 'utf8')).trim().split('\n'), [
      'add present TXT _acme-challenge.a.example.test v 1; $(not run) 60 x=1',
      'add present TXT _acme-challenge.b.example.test v2 120 x=1',
      'del cleanup TXT _acme-challenge.a.example.test v 1; $(not run) 60 x=1',
    ]);
    assert.equal(p.setRecords, undefined, 'no "set" command: no setRecords, so DDNS refuses it');
  });

  it('offers setRecords when "set" is configured (DDNS via any updater)', async () => {
    await writeFile(out, '');
    const p = new ExecProvider({ present: [script], cleanup: [script], set: [script, 'set'] });
    await p.setRecords!('home.example.test', 'AAAA', ['2001:db8::1', '2001:db8::2'], 300);
    assert.equal((await readFile(out, 'utf8')).trim(), 'set set AAAA home.example.test 2001:db8::1,2001:db8::2 300');
  });

  it('a failing command gives DnsHookError with the exit code and its stderr', async () => {
    const p = new ExecProvider({ present: [script], cleanup: [script] });
    const err = await p.appendRecords([{ name: 'x.example.test', type: 'TXT', value: 'fail', ttl: 60 }]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsHookError, String(err));
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /failed with exit code 3; stderr: provider said: quota exceeded/);
  });

  it('a command that hangs is killed at the timeout; a missing program is reported', async () => {
    const p = new ExecProvider({ present: ['sh', '-c', 'sleep 30'], cleanup: ['true'], timeoutMs: 200 });
    const t0 = Date.now();
    await assert.rejects(p.appendRecords([{ name: 'x.example.test', type: 'TXT', value: 'v', ttl: 60 }]), /did not finish within 200 ms and was killed/);
    assert.ok(Date.now() - t0 < 5000);
    const missing = new ExecProvider({ present: [path.join(dir, 'nope')], cleanup: ['true'] });
    await assert.rejects(missing.appendRecords([{ name: 'x.example.test', type: 'TXT', value: 'v', ttl: 60 }]), /could not be started: spawn .*ENOENT/);
  });

  it('an abort signal stops a running command', async () => {
    const p = new ExecProvider({ present: ['sleep', '30'], cleanup: ['true'] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stopping')), 100);
    await assert.rejects(p.appendRecords([{ name: 'x.example.test', type: 'TXT', value: 'v', ttl: 60 }], ac.signal), /stopping/);
  });
});
