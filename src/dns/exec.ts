// The escape hatch: any DNS service (or a DDNS updater such as Synology's) through the user's own
// commands. Each command is an argv array run without a shell (write ["sh", "-c", "..."] to get
// one); the record comes in MINATO_DNS_* environment variables, one run per record.
import { spawn } from 'node:child_process';
import type { DnsProvider, DnsRecord } from './dns-provider.js';
import { DnsConfigError, DnsHookError } from './errors.js';

export interface ExecOptions {
  /** Run once per record to add it: MINATO_DNS_ACTION=present. */
  present: string[];
  /** Run once per record to remove it: MINATO_DNS_ACTION=cleanup. */
  cleanup: string[];
  /**
   * Optional, for DDNS: run once per RRset replace with MINATO_DNS_ACTION=set and
   * MINATO_DNS_VALUE holding the values comma-separated. Unset: the provider has no setRecords.
   */
  set?: string[];
  /** Kill a command (SIGKILL) that runs longer than this. Default 60 s. */
  timeoutMs?: number;
  /** Extra environment for the commands. */
  env?: Record<string, string>;
  cwd?: string;
}

const STDERR_KEEP = 4000;

export class ExecProvider implements DnsProvider {
  readonly kind = 'exec';
  readonly setRecords?: (name: string, type: 'A' | 'AAAA', values: string[], ttl: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly opts: ExecOptions) {
    for (const [k, v] of Object.entries({ present: opts.present, cleanup: opts.cleanup, set: opts.set })) {
      if (v !== undefined && (v.length === 0 || !v[0])) throw new DnsConfigError('exec', `exec DNS hook: "${k}" must be a non-empty argv array, e.g. ["/usr/local/bin/dns-hook", "${k}"]`);
    }
    const set = opts.set;
    if (set) {
      this.setRecords = async (name, type, values, ttl, signal) => {
        await this.runOne(set, 'set', { name, type, value: values.join(','), ttl }, signal);
      };
    }
  }

  async appendRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    for (const r of records) await this.runOne(this.opts.present, 'present', r, signal);
  }

  async deleteRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    for (const r of records) await this.runOne(this.opts.cleanup, 'cleanup', r, signal);
  }

  private runOne(argv: string[], action: string, r: DnsRecord, signal?: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    const [cmd, ...args] = argv as [string, ...string[]];
    const env = {
      ...process.env,
      ...this.opts.env,
      MINATO_DNS_ACTION: action,
      MINATO_DNS_NAME: r.name.replace(/\.$/, ''),
      MINATO_DNS_TYPE: r.type,
      MINATO_DNS_VALUE: r.value,
      MINATO_DNS_TTL: String(r.ttl),
    };
    const what = `exec DNS hook "${argv.join(' ')}" (${action} ${r.type} ${r.name})`;
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      // Own process group, so a timeout also kills what the command started (sh -c 'sleep ...').
      const child = spawn(cmd, args, { env, cwd: this.opts.cwd, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      const kill = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      let stderr = '';
      let timedOut = false;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        stderr = (stderr + d).slice(-STDERR_KEEP);
      });
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      const onAbort = (): void => kill();
      signal?.addEventListener('abort', onAbort, { once: true });
      const tail = (): string => (stderr.trim() ? `; stderr: ${stderr.trim()}` : '; it wrote nothing to stderr');
      child.on('error', (err) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(new DnsHookError(`${what} could not be started: ${err.message} (give an absolute path or check PATH and the execute bit)`, null, stderr));
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(signal.reason);
        else if (timedOut) reject(new DnsHookError(`${what} did not finish within ${timeoutMs} ms and was killed${tail()}`, code, stderr));
        else if (code !== 0) reject(new DnsHookError(`${what} failed with ${code === null ? `signal ${sig}` : `exit code ${code}`}${tail()}`, code, stderr));
        else resolve();
      });
    });
  }
}
