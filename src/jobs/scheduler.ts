// One scheduler for the registry's background work (garbage collection, retention, scrub, ...).
// A job has a name, an optional schedule (a cron expression: Harbor's 6-field form with seconds,
// or the usual 5 fields) and a run function. The scheduler
//  - runs each job at most once at a time in the fleet: a run holds the lock `jobs/<name>`
//    (coordination/), so of several replicas only one runs a scheduled job, and a run asked for
//    while another replica's run is going is refused with JobBusyError;
//  - retries a failed scheduled run with backoff (1, 2, 4, ... minutes, at most 1 hour), until the
//    next scheduled time comes;
//  - keeps every job's last run (start, end, outcome, the job's own summary) in the shared
//    key-value store, so any replica (and the CLI) can report it, and counts runs in metrics.
// A run gets an AbortSignal (stop asked, lease lost, server closing) and a progress callback. A
// stop may be asked of any replica: the one running the job finds the request in the shared store
// when it next records its progress (within PROGRESS_FLUSH_MS).
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { KeyValueStore, Lease, Locker } from '../coordination/coordination.js';

export interface JobProgress {
  /** Units done so far (objects, bytes: the job says which in `unit`). */
  done: number;
  /** Units in all, when known. */
  total?: number;
  unit?: string;
  /** What the job is doing now ("marking", "sweeping"). */
  phase?: string;
}

export interface JobContext<P> {
  /** The run's id (JobRun.id): what the job's own records and events can name it by. */
  runId: number;
  /** What the caller asked for (a manual run's parameters, or the job's scheduled defaults). */
  params: P;
  /** Aborts when a stop was asked, the fleet lock was lost or the server is closing: end soon, leave things consistent. */
  signal: AbortSignal;
  /** Reports progress; cheap, call as often as you like. */
  progress(progress: JobProgress): void;
  log: Logger;
}

export interface JobDefinition<P = Record<string, unknown>, R = Record<string, unknown>> {
  /** Unique, `[a-z0-9-]+`; the lock is `jobs/<name>`. */
  name: string;
  /** Parameters of a scheduled run. */
  scheduledParams: () => P;
  /** Does the work; resolves with a summary (JSON) kept as the run's result. Throws on failure. */
  run(ctx: JobContext<P>): Promise<R>;
}

export interface JobRun<R = Record<string, unknown>> {
  /** Unique per run (ms since the epoch of its start, as Harbor's integer ids). */
  id: number;
  job: string;
  trigger: 'schedule' | 'manual';
  params: Record<string, unknown>;
  startedAt: number;
  finishedAt?: number;
  status: 'running' | 'succeeded' | 'failed' | 'stopped';
  error?: string;
  result?: R;
  progress?: JobProgress;
}

export class JobBusyError extends Error {
  constructor(readonly job: string) {
    super(`${job} is already running (in this or another replica); wait for it to end or stop it`);
  }
}

export class UnknownJobError extends Error {
  constructor(readonly job: string) {
    super(`no job named ${job}`);
  }
}

export interface SchedulerOptions {
  locker: Locker;
  kv: KeyValueStore;
  log: Logger;
  /** Observes finished runs (metrics). */
  onFinished?(run: JobRun): void;
  /** Runs kept per job in the history. */
  historySize?: number;
}

interface Registered {
  def: JobDefinition<any, any>;
  cron?: Cron;
  retry?: NodeJS.Timeout;
  failures: number;
  running?: { run: JobRun; stop: AbortController; done: Promise<JobRun> };
}

const PROGRESS_FLUSH_MS = 2000;
const BACKOFF_MS = [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000];

export class Scheduler {
  private readonly jobs = new Map<string, Registered>();
  private closed = false;

  constructor(private readonly options: SchedulerOptions) {}

  /** Adds a job; it runs only when asked until `schedule` gives it a time. */
  register<P, R>(def: JobDefinition<P, R>): void {
    if (!/^[a-z0-9-]+$/.test(def.name)) throw new Error(`job names are [a-z0-9-]+, not ${def.name}`);
    if (this.jobs.has(def.name)) throw new Error(`job ${def.name} is registered twice`);
    this.jobs.set(def.name, { def, failures: 0 });
  }

  /**
   * Sets (or with undefined, removes) a job's schedule: a cron expression, 5 fields or 6 with
   * seconds first. Throws a clear error on a bad expression. Every replica keeps the same schedule;
   * the fleet lock makes one of them run it.
   */
  schedule(name: string, cron: string | undefined): void {
    const job = this.get(name);
    job.cron?.stop();
    job.cron = undefined;
    if (!cron || this.closed) return;
    job.cron = new Cron(cron, { paused: false, protect: true, catch: false }, () => {
      this.fire(job);
    });
  }

  /** The next scheduled time of a job, or undefined when it has no schedule. */
  nextRun(name: string): Date | undefined {
    return this.get(name).cron?.nextRun() ?? undefined;
  }

  /**
   * Starts a run now and returns it while it goes on (`finished` resolves when it ends). Throws
   * JobBusyError when a run of the job is going anywhere in the fleet.
   */
  async start(name: string, params?: Record<string, unknown>): Promise<{ run: JobRun; finished: Promise<JobRun> }> {
    const job = this.get(name);
    if (job.running) throw new JobBusyError(name);
    const lease = await this.options.locker.tryLock(`jobs/${name}`);
    if (!lease) throw new JobBusyError(name);
    const finished = this.execute(job, lease, 'manual', params ?? job.def.scheduledParams());
    return { run: job.running!.run, finished };
  }

  /**
   * Asks run `runId` of a job to stop, wherever in the fleet it runs: at once when this replica
   * runs it, else through the shared store (the running replica sees the request within
   * PROGRESS_FLUSH_MS). False when the history has no such run going on.
   */
  async stop(name: string, runId: number): Promise<boolean> {
    const running = this.get(name).running;
    if (running?.run.id === runId) {
      running.stop.abort(new Error('stopped on request'));
      return true;
    }
    const run = (await this.history(name)).find((r) => r.id === runId);
    if (run?.status !== 'running') return false;
    await this.options.kv.store(stopKey(name), Buffer.from(String(runId)));
    return true;
  }

  /** The run going on in this replica, with its progress, or undefined. */
  current(name: string): JobRun | undefined {
    return this.get(name).running?.run;
  }

  /** Past runs of a job, newest first, from the shared store (any replica's). */
  async history(name: string): Promise<JobRun[]> {
    this.get(name);
    const value = await this.options.kv.load(historyKey(name));
    const runs = value ? (JSON.parse(value.toString('utf8')) as JobRun[]) : [];
    const current = this.current(name);
    return current ? [current, ...runs.filter((r) => r.id !== current.id)] : runs;
  }

  /** One run by id (this replica's current one, or the history's). */
  async find(name: string, id: number): Promise<JobRun | undefined> {
    return (await this.history(name)).find((r) => r.id === id);
  }

  /** Stops timers and asks running jobs to stop; waits for them to end. */
  async close(): Promise<void> {
    this.closed = true;
    const ends: Promise<unknown>[] = [];
    for (const job of this.jobs.values()) {
      job.cron?.stop();
      clearTimeout(job.retry);
      if (job.running) {
        job.running.stop.abort(new Error('the server is closing'));
        ends.push(job.running.done.catch(() => undefined));
      }
    }
    await Promise.all(ends);
  }

  private get(name: string): Registered {
    const job = this.jobs.get(name);
    if (!job) throw new UnknownJobError(name);
    return job;
  }

  /** A scheduled (or retried) run: skipped quietly when one is going here or elsewhere. */
  private fire(job: Registered): void {
    if (this.closed || job.running) return;
    clearTimeout(job.retry);
    job.retry = undefined;
    void (async () => {
      const lease = await this.options.locker.tryLock(`jobs/${job.def.name}`);
      if (!lease) return;
      const run = await this.execute(job, lease, 'schedule', job.def.scheduledParams());
      if (run.status === 'failed') this.retryLater(job);
      else job.failures = 0;
    })().catch((err: unknown) => this.options.log.error({ err, job: job.def.name }, 'could not start a scheduled job; the next scheduled time tries again'));
  }

  private retryLater(job: Registered): void {
    const delay = BACKOFF_MS[Math.min(job.failures, BACKOFF_MS.length - 1)]!;
    job.failures++;
    const next = job.cron?.nextRun();
    if (this.closed || (next && next.getTime() <= Date.now() + delay)) return;
    job.retry = setTimeout(() => this.fire(job), delay);
    job.retry.unref();
  }

  private execute(job: Registered, lease: Lease, trigger: JobRun['trigger'], params: Record<string, unknown>): Promise<JobRun> {
    const { log } = this.options;
    const name = job.def.name;
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, lease.signal]);
    const run: JobRun = { id: Date.now(), job: name, trigger, params, startedAt: Date.now(), status: 'running' };
    const jobLog = log.child({ job: name, run: run.id });
    // Other replicas (and a CLI polling through them) see the run and its progress in the shared
    // store, and ask it to stop there.
    const flush = setInterval(() => {
      this.remember(run).catch(() => undefined);
      this.stopAsked(run).then(
        (asked) => asked && stop.abort(new Error('stopped on request (through another replica)')),
        () => undefined,
      );
    }, PROGRESS_FLUSH_MS);
    flush.unref();
    const done = (async () => {
      try {
        jobLog.info({ trigger, params }, `${name} started`);
        await this.remember(run);
        signal.throwIfAborted();
        run.result = await job.def.run({ runId: run.id, params, signal, log: jobLog, progress: (p) => (run.progress = p) });
        run.status = signal.aborted ? 'stopped' : 'succeeded';
        jobLog.info({ result: run.result, seconds: (Date.now() - run.startedAt) / 1000 }, `${name} ${run.status}`);
      } catch (err) {
        run.status = signal.aborted ? 'stopped' : 'failed';
        run.error = (err as Error).message;
        if (run.status === 'failed') jobLog.error({ err }, `${name} failed: ${run.error}. A scheduled run is retried with backoff; a manual one can be started again`);
        else jobLog.warn(`${name} stopped: ${(signal.reason as Error | undefined)?.message ?? run.error}. The next run continues from where this one left off`);
      } finally {
        clearInterval(flush);
        run.finishedAt = Date.now();
        job.running = undefined;
        await this.remember(run).catch((err: unknown) => jobLog.warn({ err }, 'could not record the run in the shared store; its history misses it'));
        if (await this.stopAsked(run).catch(() => false)) await this.options.kv.delete(stopKey(name)).catch(() => undefined);
        await lease.release();
        this.options.onFinished?.(run);
      }
      return run;
    })();
    job.running = { run, stop, done };
    return done;
  }

  private async stopAsked(run: JobRun): Promise<boolean> {
    const asked = await this.options.kv.load(stopKey(run.job));
    return asked !== undefined && asked.toString('utf8') === String(run.id);
  }

  private async remember(run: JobRun): Promise<void> {
    const key = historyKey(run.job);
    const value = await this.options.kv.load(key);
    const runs = value ? (JSON.parse(value.toString('utf8')) as JobRun[]) : [];
    const kept = [run, ...runs.filter((r) => r.id !== run.id)].slice(0, this.options.historySize ?? 50);
    await this.options.kv.store(key, Buffer.from(JSON.stringify(kept)));
  }
}

function historyKey(name: string): string {
  return `jobs/${name}/history.json`;
}

/** The id of the run a replica asked to stop (the run's replica deletes it when the run ends). */
function stopKey(name: string): string {
  return `jobs/${name}/stop`;
}
