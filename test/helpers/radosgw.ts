// A real S3 server for tests: Ceph radosgw on a one-node, memory-backed cluster (one mon, one
// memstore OSD, no mgr), as in ../shared/peers-next.md §2a. Everything (config, mon store, admin
// sockets, logs) lives in one temp dir; the mon and radosgw listen on 127.0.0.1 on ports chosen
// at run time, the OSD on free ports of its own range; stopped by PID (SIGKILL: memstore keeps
// nothing worth a clean shutdown). About 2 s to a working endpoint: one cluster per test file,
// one bucket per test.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3DriverConfig } from '../../src/storage/config.js';
import { run, runOk } from './peers.js';
import { freePorts, waitFor } from './ports.js';

export interface RunningRadosgw {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  pids: { mon: number; osd: number; rgw: number };
  dir: string;
  /** What an S3 client needs to reach this server (path-style, the checksums radosgw 16 accepts). */
  clientConfig(): S3ClientConfig;
  /** minato's storage.driver for a bucket on this server (as config parsing would give it), with `extra` over it. */
  driverConfig(bucket: string, extra?: Partial<S3DriverConfig>): S3DriverConfig;
  /** Creates an empty bucket with a fresh name and returns the name. */
  createBucket(name?: string): Promise<string>;
  /**
   * Environment for a process under test that reads the usual AWS variables: this user's keys and
   * region, and no AWS_CA_BUNDLE (the machine may set one; an AWS client given a bundle it cannot
   * use fails at start, and this endpoint is plain HTTP anyway).
   */
  env(): NodeJS.ProcessEnv;
  /** Runs radosgw-admin on this cluster (quotas, users); fails on a non-zero exit. */
  admin(args: string[]): Promise<string>;
  /** The last lines of radosgw's log, for a failing test's message. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export function radosgwAvailable(): boolean {
  return ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool'].every((b) => existsSync(`/usr/bin/${b}`));
}

const ACCESS_KEY = 'MINATOACCESSKEY0001';
const SECRET_KEY = 'minato-secret-key-0001';

export async function startRadosgw(): Promise<RunningRadosgw> {
  if (!radosgwAvailable()) throw new Error('Ceph is not installed: run scripts/peers.sh install (ceph-mon, ceph-osd, radosgw)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'minato-ceph-'));
  for (const sub of ['run', 'log', 'mon.a', 'osd.0', 'rgw.a']) await mkdir(path.join(dir, sub));
  const [monV2, monV1, rgwPort] = await freePorts(3);
  const fsid = randomUUID();
  const conf = path.join(dir, 'ceph.conf');
  await writeFile(conf, cephConf(dir, fsid, monV2!, monV1!, rgwPort!));
  const daemons: ChildProcess[] = [];
  const stop = async () => {
    // Newest first, so the mon is still there while the others go.
    for (const child of daemons.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(child.pid!, 'SIGKILL');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  const daemon = (cmd: string, args: string[], out: string) => {
    const child = spawn(cmd, ['-c', conf, ...args, '-f'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    child.once('exit', () => void writeFile(path.join(dir, 'log', out), text).catch(() => undefined));
    daemons.push(child);
    return child;
  };
  // The `ceph` CLI waits for a mon forever unless told otherwise.
  const ceph = (args: string[]) => run('ceph', ['-c', conf, '--connect-timeout', '5', ...args], { timeoutMs: 10_000 });
  try {
    const addr = `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`;
    await runOk('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', addr, path.join(dir, 'monmap')]);
    await runOk('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')]);
    const mon = daemon('ceph-mon', ['-i', 'a'], 'mon.a.out');
    await waitFor(async () => mon.exitCode === null && (await ceph(['mon', 'stat'])).code === 0, 20_000, 'the Ceph mon');
    const osdUuid = randomUUID();
    const osdId = (await runOk('ceph', ['-c', conf, '--connect-timeout', '5', 'osd', 'new', osdUuid], { timeoutMs: 10_000 })).stdout.trim();
    await runOk('ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    const osd = daemon('ceph-osd', ['-i', osdId], 'osd.0.out');
    await waitFor(async () => osd.exitCode === null && /\b1 up\b/.test((await ceph(['osd', 'stat'])).stdout), 20_000, 'the Ceph OSD to be up');
    const rgw = daemon('radosgw', ['-n', 'client.rgw.a'], 'rgw.a.out');
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor(async () => rgw.exitCode === null && (await fetch(endpoint)).ok, 30_000, 'radosgw to answer S3');
    await runOk('radosgw-admin', ['-c', conf, 'user', 'create', '--uid=minato', '--display-name=minato test', `--access-key=${ACCESS_KEY}`, `--secret-key=${SECRET_KEY}`], {
      timeoutMs: 30_000,
    });
    const clientConfig = (): S3ClientConfig => ({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const admin = new S3Client(clientConfig());
    return {
      endpoint,
      region: 'us-east-1',
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      pids: { mon: mon.pid!, osd: osd.pid!, rgw: rgw.pid! },
      dir,
      clientConfig,
      driverConfig: (bucket, extra = {}) => ({
        kind: 's3',
        bucket,
        endpoint,
        region: 'us-east-1',
        // forcePathStyle unset: path style follows from the endpoint, as a user's config would leave it.
        prefix: '',
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
        redirect: { enabled: false, ttlSeconds: 600 },
        ...extra,
      }),
      async createBucket(name = `minato-${randomBytes(6).toString('hex')}`) {
        await admin.send(new CreateBucketCommand({ Bucket: name }));
        return name;
      },
      env() {
        const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_REGION: 'us-east-1' };
        delete env.AWS_CA_BUNDLE;
        delete env.AWS_PROFILE;
        delete env.AWS_SESSION_TOKEN;
        return env;
      },
      admin: async (args) => (await runOk('radosgw-admin', ['-c', conf, ...args], { timeoutMs: 30_000 })).stdout,
      log: () => tail(path.join(dir, 'log', 'client.rgw.a.log')),
      async stop() {
        admin.destroy();
        await stop();
      },
    };
  } catch (err) {
    const logs = await Promise.all(['mon.a.log', 'osd.0.log', 'client.rgw.a.log'].map(async (f) => `--- ${f}\n${await tail(path.join(dir, 'log', f))}`));
    await stop();
    throw new Error(`${(err as Error).message}\n${logs.join('\n')}`);
  }
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/** ceph.conf of peers-next.md §2a: why each line is there is written down there. */
function cephConf(dir: string, fsid: string, monV2: number, monV1: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = 46800
ms bind port max = 46999
auth cluster required = none
auth service required = none
auth client required = none
# radosgw, as a client daemon, defaults to mon client mode "secure", which auth "none" cannot do
ms mon client mode = crc secure
auth allow insecure global id reclaim = false
mon data avail warn = 2
mon data avail crit = 1
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
keyring = ${dir}/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
[mon]
mon data = ${dir}/mon.$id
mon allow pool delete = true
# without these every map change waits about 1 s (12.6 s to a working endpoint instead of 1.8)
paxos propose interval = 0.1
paxos min wait = 0.01
mon cluster log file = ${dir}/log/$cluster.$channel.log
[osd]
osd data = ${dir}/osd.$id
osd objectstore = memstore
memstore device bytes = 2147483648
[client.rgw.a]
rgw data = ${dir}/rgw.a
# tcp_nodelay: without it every request stalls ~40 ms (Nagle + delayed ACK)
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
`;
}
