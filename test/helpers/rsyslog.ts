// Debian's rsyslogd as the syslog server of the audit forwarding tests: no privileges needed
// (only ports above 1024 on 127.0.0.1, its own work directory, no /dev/log), in the foreground
// (-n) from a temp dir, stopped by PID. It receives RFC 5424 over TCP (imtcp, which takes
// RFC 6587 octet-counted frames) and UDP (imudp), and writes each message as one JSON object of
// the fields it parsed (pri, version, timestamp, hostname, app, procid, msgid, sd, msg).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort, waitFor } from './ports.js';

export interface SyslogMessage {
  pri: string;
  version: string;
  timestamp: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
  /** Which input received it. */
  input: 'tcp' | 'udp';
}

export interface RunningRsyslog {
  tcpPort: number;
  udpPort: number;
  pid: number;
  /** Every message received so far (across restarts). */
  messages(): Promise<SyslogMessage[]>;
  /** Stops the daemon (the ports stay reserved for start()). */
  stop(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export async function startRsyslog(dir: string): Promise<RunningRsyslog> {
  const [tcpPort, udpPort] = [await freePort(), await freeUdpPort()];
  const out = path.join(dir, 'messages.jsonl');
  const field = (name: string, property: string) => `  property(outname="${name}" name="${property}" format="jsonf")`;
  const template = (input: string) => `template(name="as-${input}" type="list" option.jsonf="on") {
${[
  field('pri', 'pri'),
  field('version', 'protocol-version'),
  '  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")',
  field('hostname', 'hostname'),
  field('app', 'app-name'),
  field('procid', 'procid'),
  field('msgid', 'msgid'),
  field('sd', 'structured-data'),
  field('msg', 'msg'),
  `  constant(outname="input" value="${input}" format="jsonf")`,
].join('\n')}
}`;
  const config = `global(workDirectory="${dir}")
module(load="imtcp")
module(load="imudp")
${template('tcp')}
${template('udp')}
ruleset(name="tcp") { action(type="omfile" file="${out}" template="as-tcp") }
ruleset(name="udp") { action(type="omfile" file="${out}" template="as-udp") }
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="udp")
`;
  const file = path.join(dir, 'rsyslog.conf');
  const pidFile = path.join(dir, 'rsyslogd.pid');
  await writeFile(file, config);
  let child: ReturnType<typeof spawn>;
  let exited: Promise<void>;
  let output = '';
  const start = async () => {
    child = spawn('/usr/sbin/rsyslogd', ['-n', '-f', file, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${output}`);
          const socket = net.connect(tcpPort, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      10_000,
      `rsyslogd listening on 127.0.0.1:${tcpPort}`,
    );
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    tcpPort,
    udpPort,
    get pid() {
      return child.pid!;
    },
    async messages() {
      const text = await readFile(out, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SyslogMessage);
    },
    stop,
    start,
  };
}
