// `minato scrub [--repair]`, `minato scrub status [ID]` and `minato scrub stop [ID]`: the scrub of
// a running registry through its management API (/system/scrub; the credentials of `minato login`
// or the flags, as the content commands). A run shows a progress bar on a terminal, then the
// findings grouped by kind, each with what it means and what repair does or did. Exit status 1
// while findings remain (or the run failed), 0 when the registry is whole, 2 when it could not ask.
import type { Command } from 'commander';
import { formatSize } from '../util/size.js';
import { sleep } from '../util/async.js';
import { apiClient, CliError, type ApiClient, type ApiClientFlags } from './api-client.js';
import { apiOptions } from './content-commands.js';

type Flags = ApiClientFlags & { json?: boolean };

interface RunModel {
  id: number;
  job_kind: string;
  job_parameters: string;
  job_status: 'Running' | 'Success' | 'Error' | 'Stopped';
  creation_time: string;
  update_time: string;
  error?: string;
  progress?: { phase?: string; done: number; total?: number; unit?: string };
  summary?: {
    stopped: boolean;
    blobs_checked: number;
    bytes_verified: number;
    manifests_checked: number;
    blobs_listed: number;
    orphans_in_grace: number;
    findings: Record<string, number>;
    remaining: Record<string, number>;
    repaired: number;
    findings_truncated: boolean;
  };
}

interface FindingModel {
  kind: string;
  digest: string;
  detail: string;
  meaning: string;
  repair: string;
  repaired: boolean;
  images?: Array<{ repository: string; manifest: string; tags: string[] }>;
}

const POLL_MS = 500;
const print = (text: string): void => void process.stdout.write(text);

export function addScrubCommands(program: Command): void {
  const scrub = apiOptions(
    program
      .command('scrub')
      .description(
        'Prove the data is whole: re-hash every blob, check every manifest and its references, find stored bytes no metadata knows (through the management API; system administrators). ' +
          'Exit status 1 while findings remain.',
      ),
  )
    .option('--repair', 'repair what can be: delete bad and orphan bytes, unlink broken blobs so a re-push heals the images (manifests are only reported)')
    .action(async (f: Flags & { repair?: boolean }) => {
      const api = apiClient(f);
      const started = (await api.call('POST', '/system/scrub', { repair: f.repair === true })).body as RunModel;
      if (!f.json) process.stderr.write(`scrub ${started.id} started${f.repair ? ' (repair)' : ''} on ${api.url}\n`);
      const run = await follow(api, started.id, !f.json && process.stderr.isTTY === true);
      await report(api, run, f.json === true);
    });

  // The flags are the parent's too (commander gives them to `scrub` wherever they stand): merged.
  apiOptions(scrub.command('status').argument('[id]', 'a run (default: the latest)').description('The latest scrub run (or run ID): its progress, or what it found.')).action(
    async (id: string | undefined, _: Flags, cmd: Command) => {
      const f = cmd.optsWithGlobals<Flags>();
      const api = apiClient(f);
      await report(api, await runOf(api, id), f.json === true);
    },
  );

  apiOptions(scrub.command('stop').argument('[id]', 'a run (default: the latest)').description('Stop a running scrub; it keeps what it checked and found so far.')).action(
    async (id: string | undefined, _: Flags, cmd: Command) => {
      const api = apiClient(cmd.optsWithGlobals<Flags>());
      const run = await runOf(api, id);
      await api.call('PATCH', `/system/scrub/${run.id}`);
      process.stderr.write(`scrub ${run.id}: asked to stop\n`);
    },
  );
}

/** A run by id, or the latest. */
async function runOf(api: ApiClient, id: string | undefined): Promise<RunModel> {
  if (id !== undefined) {
    if (!/^\d+$/.test(id)) throw new CliError(`"${id}" is not a scrub run id (a number; minato scrub status lists the latest)`, 2);
    return (await api.call('GET', `/system/scrub/${id}?page_size=1`)).body as RunModel;
  }
  const [latest] = (await api.call('GET', '/system/scrub?page_size=1')).body as RunModel[];
  if (!latest) throw new CliError('no scrub has run on this registry yet: start one with minato scrub', 1);
  return latest;
}

/** Polls a run until it ends, with a progress bar on a terminal. */
async function follow(api: ApiClient, id: number, bar: boolean): Promise<RunModel> {
  // Loaded only for a bar: every other command starts without it.
  const cliProgress = bar ? (await import('cli-progress')).default : undefined;
  const progress = cliProgress
    ? new cliProgress.SingleBar({ format: ' {phase} [{bar}] {percentage}% | {shown}', hideCursor: true, clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  let phase: string | undefined;
  try {
    for (;;) {
      const run = (await api.call('GET', `/system/scrub/${id}?page_size=1`)).body as RunModel;
      if (run.job_status !== 'Running') return run;
      const p = run.progress;
      if (progress && p) {
        const total = Math.max(1, p.total ?? p.done);
        const shown = p.unit === 'bytes' ? `${formatSize(p.done)} / ${formatSize(p.total ?? p.done)}` : `${p.done}${p.total !== undefined ? ` / ${p.total}` : ''} ${p.unit ?? ''}`;
        const name = (p.phase ?? '').padEnd(10);
        if (phase !== p.phase) {
          if (phase === undefined) progress.start(total, p.done, { phase: name, shown });
          phase = p.phase;
        }
        progress.setTotal(total);
        progress.update(p.done, { phase: name, shown });
      }
      await sleep(POLL_MS);
    }
  } finally {
    progress?.stop();
  }
}

/** Prints a run and its findings (every page), and sets the exit status. */
async function report(api: ApiClient, run: RunModel, json: boolean): Promise<void> {
  const findings: FindingModel[] = [];
  for (let page = 1; ; page++) {
    const res = await api.call('GET', `/system/scrub/${run.id}?page=${page}&page_size=100`);
    const body = res.body as RunModel & { findings: FindingModel[]; finding_total: number };
    run = body;
    findings.push(...body.findings);
    if (body.findings.length < 100 || findings.length >= body.finding_total) break;
  }
  const remaining = Object.values(run.summary?.remaining ?? {}).reduce((a, b) => a + b, 0);
  if (json) print(`${JSON.stringify({ ...run, findings }, null, 2)}\n`);
  else print(describe(run, findings, remaining));
  if (run.job_status === 'Error' || remaining > 0) process.exitCode = 1;
}

function describe(run: RunModel, findings: FindingModel[], remaining: number): string {
  const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');
  const params = JSON.parse(run.job_parameters) as { repair?: boolean };
  const lines = [`scrub ${run.id} (${run.job_kind.toLowerCase()}${params.repair ? ', repair' : ''}): ${run.job_status}, ${when(run.creation_time)} .. ${when(run.update_time)}`];
  if (run.error) lines.push(`  failed: ${run.error}`);
  if (run.job_status === 'Running' && run.progress) lines.push(`  now: ${run.progress.phase ?? ''} ${run.progress.done}${run.progress.total !== undefined ? ` of ${run.progress.total}` : ''} ${run.progress.unit ?? ''}`);
  const s = run.summary;
  if (s) {
    lines.push(
      `  checked ${s.blobs_checked} blobs (${formatSize(s.bytes_verified)} re-hashed), ${s.manifests_checked} manifests, ${s.blobs_listed} stored blobs${s.stopped ? ' before it was stopped' : ''}`,
    );
    if (s.orphans_in_grace > 0) lines.push(`  ${s.orphans_in_grace} stored blob(s) no metadata knows yet are younger than scrub.orphanGraceMinutes: left alone (a push may be writing its metadata)`);
  }
  const kinds = [...new Set(findings.map((f) => f.kind))];
  for (const kind of kinds) {
    const group = findings.filter((f) => f.kind === kind);
    lines.push('', `${kind} (${s?.findings[kind] ?? group.length}): ${group[0]!.meaning}`);
    for (const f of group) {
      lines.push(`  ${f.digest}${f.repaired ? '  [repaired]' : ''}`, `    ${f.detail}`);
      for (const image of f.images ?? []) lines.push(`    used by ${image.repository}@${image.manifest}${image.tags.length ? ` (${image.tags.join(', ')})` : ''}`);
      lines.push(`    ${f.repaired ? 'done' : 'to do'}: ${f.repair}`);
    }
  }
  if (s?.findings_truncated) lines.push('', 'more findings than a run keeps (5,000): the counts are exact; repair, then scrub again for the rest');
  lines.push('');
  if (run.job_status === 'Running') lines.push('still running: minato scrub status shows it again');
  else if (remaining > 0) lines.push(`${remaining} finding(s) remain${params.repair ? '' : ': minato scrub --repair fixes what it can (see "to do" above)'}`);
  else if (s) lines.push(s.repaired > 0 ? `OK: ${s.repaired} finding(s) repaired, none remain` : 'OK: every blob and manifest is whole');
  return `${lines.join('\n')}\n`;
}
