// A throw-away PostgreSQL 15 cluster for tests (../shared/peers-next.md §1): initdb as the
// `postgres` user into a directory on tmpfs, fsync off, listening on 127.0.0.1 at a free port,
// stopped by the postmaster's PID. One cluster per test file; one fresh database per test.
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, runOk, waitFor } from './peers.js';

const PGBIN = '/usr/lib/postgresql/15/bin';
const SUPERUSER_PASSWORD = 'pgsuper';

export interface RunningPostgres {
  /** A superuser URL to the `postgres` database. */
  adminUrl: string;
  port: number;
  pid: number;
  /**
   * Creates an empty database owned by `minato` and returns its URL. `icuLocale` (e.g. "en-US")
   * gives it that ICU collation instead of the cluster's C.UTF-8, as databases in the field have.
   */
  createDatabase(name?: string, options?: { icuLocale?: string }): Promise<string>;
  /** Restarts the server (connections drop; data stays), for failure tests. */
  restart(): Promise<void>;
  /** Stops the server without a restart (connections refused until start()). */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function postgresAvailable(): boolean {
  return existsSync(path.join(PGBIN, 'initdb'));
}

/**
 * Starts a cluster. initdb and pg_ctl refuse root, so as root they run as `postgres` via
 * runuser; otherwise as the current user. The data lives in /dev/shm: on this VM's disk,
 * creating a database took 10-300 ms, on tmpfs about 10.
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const root = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'minato-pg-'));
  await chmod(root, 0o711);
  const asRoot = userInfo().uid === 0;
  const as = (cmd: string, args: string[]) => (asRoot ? runOk('runuser', ['-u', 'postgres', '--', cmd, ...args]) : runOk(cmd, args));
  const dir = path.join(root, 'pg');
  await runOk('mkdir', ['-p', dir]);
  const pwfile = path.join(dir, 'pwfile');
  await writeFile(pwfile, SUPERUSER_PASSWORD);
  if (asRoot) {
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
    await chown(pwfile, uid, gid);
  }
  const data = path.join(dir, 'data');
  await as(path.join(PGBIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const options = `-k ${dir} -h 127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = async () => {
    await as(path.join(PGBIN, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', '-o', options, 'start']);
  };
  const stopServer = async () => {
    if (existsSync(path.join(data, 'postmaster.pid'))) await as(path.join(PGBIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']).catch(() => undefined);
  };
  await start();
  const pid = Number((await readFile(path.join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const adminUrl = `postgres://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create role minato login createdb password 'minato-pw'`);
  let count = 0;
  return {
    adminUrl,
    port,
    pid,
    async createDatabase(name = `t_${process.pid}_${++count}_${randomBytes(3).toString('hex')}`, options = {}) {
      const locale = options.icuLocale ? ` template template0 locale_provider icu icu_locale '${options.icuLocale.replace(/'/g, "''")}'` : '';
      await admin(`create database ${name} owner minato${locale}`);
      return `postgres://minato:minato-pw@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      // -l as at start: without it the new postmaster inherits pg_ctl's output pipes, and
      // runOk waits for them to close until its 60 s timeout.
      await as(path.join(PGBIN, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-m', 'fast', '-w', '-t', '30', '-o', options, 'restart']);
    },
    halt: stopServer,
    start,
    async stop() {
      await stopServer();
      await waitFor(async () => !existsSync(path.join(data, 'postmaster.pid')), 10_000).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: install postgresql-15 (scripts/peers.sh install)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
