// `minato gc [--dry-run] [--delete-untagged]` and `minato gc status`: garbage collection of the
// logged-in registry through its management API (/system/gc, Harbor's shape). A run is started,
// then polled: a progress bar on a terminal (cli-progress), a line per phase otherwise; at the end
// what was reclaimed (a dry run: what would be, per project). Exit code 1 when the run failed or
// was stopped, 2 when the registry could not be asked.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { apiClient, CliError, type ApiClient, type ApiClientFlags } from './api-client.js';
import { apiOptions, table } from './content-commands.js';

type Flags = ApiClientFlags & { json?: boolean };

interface GcRun {
  id: number;
  job_kind: string;
  job_status: 'Running' | 'Success' | 'Error' | 'Stopped';
  job_parameters: string;
  creation_time: string;
  update_time: string;
  progress?: { phase?: string; done: number; total?: number; unit?: string };
  result?: { dry_run: boolean; manifests: number; links: number; blobs: number; bytes: number; uploads: number; seconds: number; projects?: Array<{ project: string; manifests: number; blobs: number; bytes: number }> };
  error?: string;
}

const POLL_MS = 500;

/** Bytes in the largest unit that keeps a number of at least 1 (binary units, as `du -h`). */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** What a finished run reclaimed, in words (and per project for a dry run). */
export function describeRun(run: GcRun): string {
  const r = run.result;
  if (!r) return `run ${run.id}: ${run.job_status}${run.error ? `: ${run.error}` : ''}\n`;
  const verb = r.dry_run ? 'would free' : 'freed';
  let text =
    `run ${run.id}: ${run.job_status} in ${r.seconds.toFixed(1)} s; ${verb} ${humanBytes(r.bytes)}: ` +
    `${r.manifests} untagged manifests, ${r.blobs} blobs${r.dry_run ? '' : `, ${r.links} unreferenced blob links, ${r.uploads} abandoned uploads`}\n`;
  if (r.projects && r.projects.length > 0) {
    text += table(r.projects, [
      ['PROJECT', (p) => p.project],
      ['MANIFESTS', (p) => String(p.manifests)],
      ['BLOBS', (p) => String(p.blobs)],
      ['WOULD FREE', (p) => humanBytes(p.bytes)],
    ]);
  }
  return text;
}

async function follow(api: ApiClient, location: string, json: boolean): Promise<GcRun> {
  const path = location.replace(/^\/api\/v2\.0/, '');
  const tty = process.stderr.isTTY === true && !json;
  const bar = tty ? new cliProgress.SingleBar({ format: ' {phase} [{bar}] {value}/{total} {unit}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
  let started = false;
  let lastPhase: string | undefined;
  try {
    for (;;) {
      const run = (await api.call('GET', path)).body as GcRun;
      const p = run.progress;
      if (run.job_status !== 'Running') {
        if (bar && started) bar.update(bar.getTotal(), { phase: 'done'.padEnd(9), unit: p?.unit ?? '' });
        return run;
      }
      if (p) {
        const phase = (p.phase ?? '').padEnd(9);
        const total = Math.max(p.total ?? p.done, 1);
        if (bar) {
          if (!started) bar.start(total, p.done, { phase, unit: p.unit ?? '' });
          bar.setTotal(total);
          bar.update(p.done, { phase, unit: p.unit ?? '' });
          started = true;
        } else if (!json && p.phase !== lastPhase) process.stderr.write(`${p.phase}: ${p.done}${p.total === undefined ? '' : `/${p.total}`} ${p.unit ?? ''}\n`);
        lastPhase = p.phase;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar?.stop();
  }
}

export function addGcCommand(program: Command): void {
  const gc = apiOptions(
    program
      .command('gc')
      .description(
        'Garbage collection of the registry (online: pushes and pulls go on): removes untagged manifests (with --delete-untagged), blob links no manifest references and blobs nothing holds, and abandoned uploads. Shows progress; prints what was freed.',
      ),
  )
    .option('--dry-run', 'report what would be freed, per project, and change nothing')
    .option('--delete-untagged', 'also delete untagged manifests (not those an index or a kept artifact references)')
    .action(async (f: Flags & { dryRun?: boolean; deleteUntagged?: boolean }) => {
      const api = apiClient(f);
      let started;
      try {
        started = await api.call('POST', '/system/gc/schedule', { schedule: { type: 'Manual' }, parameters: { dry_run: f.dryRun === true, delete_untagged: f.deleteUntagged === true } });
      } catch (err) {
        if (err instanceof CliError && /answered 409/.test(err.message)) throw new CliError(`a garbage collection run is going on already: minato gc status shows it (${err.message})`, 1);
        throw err;
      }
      const location = started.headers.location;
      if (typeof location !== 'string') throw new CliError(`${api.url} started no run (no Location in its answer)`, 1);
      const run = await follow(api, location, f.json === true);
      process.stdout.write(f.json ? `${JSON.stringify(run, null, 2)}\n` : describeRun(run));
      if (run.job_status !== 'Success') {
        throw new CliError(`garbage collection ${run.job_status === 'Stopped' ? 'was stopped' : 'failed'}${run.error ? `: ${run.error}` : ''}; run minato gc again to continue (it resumes what was left)`, 1);
      }
    });

  apiOptions(gc.command('status').description('The recent garbage collection runs and the schedule.')).action(async (own: Flags) => {
    // Options after "status" that `gc` itself has (--json, --registry, ...) land on `gc`.
    const f: Flags = { ...(gc.opts() as Flags), ...own };
    const api = apiClient(f);
    const runs = (await api.call('GET', '/system/gc?page_size=10')).body as GcRun[];
    const schedule = (await api.call('GET', '/system/gc/schedule')).body as { schedule?: { type: string; cron?: string; next_scheduled_time?: string } };
    if (f.json) {
      process.stdout.write(`${JSON.stringify({ schedule, runs }, null, 2)}\n`);
      return;
    }
    const s = schedule.schedule;
    process.stdout.write(`schedule: ${s?.type ?? 'None'}${s?.cron ? ` (${s.cron})` : ''}${s?.next_scheduled_time ? `, next ${s.next_scheduled_time.slice(0, 19).replace('T', ' ')}` : ''}\n`);
    if (runs.length === 0) {
      process.stdout.write('no runs yet: minato gc starts one\n');
      return;
    }
    process.stdout.write(
      table(runs, [
        ['ID', (r) => String(r.id)],
        ['KIND', (r) => r.job_kind.toLowerCase()],
        ['STATUS', (r) => r.job_status + (r.progress?.phase ? ` (${r.progress.phase})` : '')],
        ['STARTED', (r) => r.creation_time.slice(0, 19).replace('T', ' ')],
        ['DRY RUN', (r) => (JSON.parse(r.job_parameters) as { dry_run?: boolean }).dry_run ? 'yes' : 'no'],
        ['FREED', (r) => (r.result ? humanBytes(r.result.bytes) : '-')],
        ['BLOBS', (r) => (r.result ? String(r.result.blobs) : '-')],
        ['MANIFESTS', (r) => (r.result ? String(r.result.manifests) : '-')],
      ]),
    );
  });
}
