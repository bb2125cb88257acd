// `minato serve` refuses bad start-up input with one line that says what is wrong and where to
// fix it, and exit status 1, before it listens (nothing half-started, no stack trace).
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir } from '../helpers/registry.js';

describe('minato serve: bad start-up input', () => {
  let tmp: string;
  let busy: net.Server;
  let busyPort: number;

  before(async () => {
    tmp = await tempDir('minato-cli-errors-');
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as net.AddressInfo).port;
  });
  after(async () => {
    busy?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const serve = (args: string[]) => run(process.execPath, [CLI, 'serve', ...args], { env: { MINATO_LOG_LEVEL: 'error' }, timeoutMs: 20_000 });
  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    ['the port is taken', async () => ['--listen', `127.0.0.1:${busyPort}`], /127\.0\.0\.1:\d+ is already in use by another program; pick another address with --listen or MINATO_LISTEN/],
    ['the listen address is malformed', async () => ['--listen', 'nonsense'], /listen address "nonsense" is not HOST:PORT/],
    ['the htpasswd file is missing', async () => ['--htpasswd', path.join(tmp, 'nope')], /cannot read htpasswd file .*nope: ENOENT/],
    ['the TLS files are missing', async () => ['--tls-cert', path.join(tmp, 'c.pem'), '--tls-key', path.join(tmp, 'k.pem')], /cannot read .*c\.pem: ENOENT/],
    ['the data directory cannot be made', async () => {
      await writeFile(path.join(tmp, 'a-file'), '');
      return ['--data', path.join(tmp, 'a-file', 'data')];
    }, /cannot create the data directory .*a-file\/data \(--data, MINATO_DATA\): ENOTDIR/],
    ['the config file is not YAML', async () => {
      await writeFile(path.join(tmp, 'broken.yaml'), 'listen: [\n');
      return ['-c', path.join(tmp, 'broken.yaml')];
    }, /broken\.yaml is not valid YAML \(line \d+, column \d+\)/],
    ['the config file has a typo', async () => {
      await writeFile(path.join(tmp, 'typo.yaml'), 'listne: 127.0.0.1:0\n');
      return ['-c', path.join(tmp, 'typo.yaml')];
    }, /unknown key "listne" \(did you mean "listen"\?\)/],
  ];

  for (const [what, args, message] of cases) {
    test(`${what}: exit 1 with a clear message`, async () => {
      const r = await serve(['--listen', '127.0.0.1:0', '--data', path.join(tmp, 'data'), ...(await args())]);
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.doesNotMatch(r.stdout, /minato is serving/);
    });
  }

  test('none of those failed starts used up the first-start admin password', async () => {
    const ok = await spawnServe(['--data', path.join(tmp, 'data')]);
    try {
      assert.ok(ok.adminPassword, `the first start that serves creates admin and prints its password:\n${ok.output()}`);
    } finally {
      await ok.stop();
    }
  });
});
