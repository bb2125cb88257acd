// `minato immutable list|add|rm <project>` and `minato retention show|set|run|history <project>`:
// a project's tag rules over the management API (cli/api-client.ts), as readable tables or
// --json. The common rule comes from flags (`--tags 'v*' --repos '**'`, `--keep-latest 10`);
// anything Harbor's JSON can say comes from `--file` (an ImmutableRule, or a RetentionPolicy's
// rules or the whole policy). The server checks every rule; these commands only shape them.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { apiClient, CliError, type ApiClient } from './api-client.js';
import { all, apiOptions, date, json, print, said, table, type Flags, type Row } from './content-commands.js';

type Selector = { kind: string; decoration: string; pattern: string; extras?: string };
type Rule = Row & { id?: number; disabled?: boolean; template?: string; params?: Record<string, unknown>; tag_selectors: Selector[]; scope_selectors: { repository: Selector[] } };

interface SelectorFlags {
  tags?: string;
  repos?: string;
  excludeTags?: boolean;
  excludeRepos?: boolean;
  untagged?: boolean;
  file?: string;
}

const selectorsFrom = (f: SelectorFlags, untaggedDefault?: boolean) => ({
  tag_selectors: [
    {
      kind: 'doublestar',
      decoration: f.excludeTags ? 'excludes' : 'matches',
      pattern: f.tags ?? '**',
      ...(f.untagged !== undefined || untaggedDefault !== undefined ? { extras: JSON.stringify({ untagged: f.untagged ?? untaggedDefault }) } : {}),
    },
  ],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: f.excludeRepos ? 'repoExcludes' : 'repoMatches', pattern: f.repos ?? '**' }] },
});

const describeSelectors = (selectors: Selector[], repo: boolean) =>
  selectors.map((s) => `${/xcludes$/i.test(s.decoration) ? 'not ' : ''}${s.pattern || '**'}${!repo && s.extras ? ` ${s.extras}` : ''}`).join(' and ');

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file} as JSON: ${(err as Error).message}`, 2);
  }
}

function selectorOptions(c: Command): Command {
  return c
    .option('--tags <pattern>', 'tags the rule covers (doublestar: *, **, {a,b})', '**')
    .option('--repos <pattern>', 'repositories inside the project the rule covers', '**')
    .option('--exclude-tags', 'the rule covers the tags that do NOT match --tags')
    .option('--exclude-repos', 'the rule covers the repositories that do NOT match --repos')
    .option('--file <rule.json>', "Harbor's JSON instead of the flags");
}

/** A project's id and metadata by name. */
async function projectOf(api: ApiClient, name: string): Promise<{ id: number; metadata: Record<string, string> }> {
  const p = (await api.call('GET', `/projects/${encodeURIComponent(name)}`, undefined).then((r) => r.body)) as { project_id: number; metadata?: Record<string, string> };
  return { id: p.project_id, metadata: p.metadata ?? {} };
}

/** The id of a project's retention policy; a CliError when it has none. */
async function policyIdOf(api: ApiClient, project: string): Promise<number> {
  const id = (await projectOf(api, project)).metadata.retention_id;
  if (id === undefined) throw new CliError(`project ${project} has no retention policy: make one with minato retention set ${project} --keep-latest N`, 1);
  return Number(id);
}

const TEMPLATE_FLAGS: Array<[flag: string, template: string]> = [
  ['keepLatest', 'latestPushedK'],
  ['keepLatestPulled', 'latestPulledN'],
  ['keepActive', 'latestActiveK'],
  ['keepDays', 'nDaysSinceLastPush'],
  ['keepPulledDays', 'nDaysSinceLastPull'],
];

function ruleLine(r: Rule): string {
  const n = r.params?.[r.template ?? ''];
  const what: Record<string, string> = {
    latestPushedK: `the latest ${n ?? 10} pushed`,
    latestPulledN: `the latest ${n ?? 10} pulled`,
    latestActiveK: `the latest ${n ?? 10} pushed or pulled`,
    nDaysSinceLastPush: `those pushed in the last ${n ?? 30} days`,
    nDaysSinceLastPull: `those pulled in the last ${n ?? 30} days`,
    lastXDays: `those created in the last ${n ?? 10} days`,
    always: 'all',
  };
  return what[r.template ?? ''] ?? String(r.template);
}

export function addRuleCommands(program: Command): void {
  const immutable = program.command('immutable').description("A project's tag immutability rules: list, add, rm (tags they cover cannot be moved or deleted).");
  apiOptions(immutable.command('list').argument('<project>', 'project name').description('The rules.')).action(async (project: string, f: Flags) => {
    const rows = (await all(apiClient(f), `/projects/${encodeURIComponent(project)}/immutabletagrules`)) as Rule[];
    if (f.json) return json(rows);
    if (rows.length === 0) {
      said(`project ${project} has no immutability rules`);
      return;
    }
    print(
      table(rows, [
        ['ID', (r) => String(r.id)],
        ['TAGS', (r) => describeSelectors(r.tag_selectors, false)],
        ['REPOSITORIES', (r) => describeSelectors(r.scope_selectors.repository, true)],
        ['STATE', (r) => (r.disabled ? 'disabled' : 'enabled')],
      ]),
    );
  });
  apiOptions(selectorOptions(immutable.command('add').argument('<project>', 'project name').description('Add a rule (at most 15 per project).'))).action(async (project: string, f: Flags & SelectorFlags) => {
    const rule = f.file ? await readJson(f.file) : { disabled: false, action: 'immutable', template: 'immutable_template', ...selectorsFrom(f) };
    const res = await apiClient(f).call('POST', `/projects/${encodeURIComponent(project)}/immutabletagrules`, rule);
    const id = String(res.headers.location ?? '').split('/').pop();
    if (f.json) return json({ id: Number(id) });
    said(`immutability rule ${id} added to ${project}`);
  });
  apiOptions(immutable.command('rm').argument('<project>', 'project name').argument('<id>', "the rule's id (minato immutable list)").description('Delete a rule.')).action(async (project: string, id: string, f: Flags) => {
    if (!/^\d+$/.test(id)) throw new CliError(`"${id}" is not a rule id: see minato immutable list ${project}`, 2);
    await apiClient(f).call('DELETE', `/projects/${encodeURIComponent(project)}/immutabletagrules/${id}`);
    said(`immutability rule ${id} of ${project} deleted`);
  });

  const retention = program.command('retention').description("A project's tag retention policy: show, set, run [--dry-run], history.");
  apiOptions(retention.command('show').argument('<project>', 'project name').description('The policy: its rules and schedule.')).action(async (project: string, f: Flags) => {
    const api = apiClient(f);
    const policy = (await api.call('GET', `/retentions/${await policyIdOf(api, project)}`)).body as { id: number; rules: Rule[]; trigger: { settings: { cron: string } } };
    if (f.json) return json(policy);
    print(`policy ${policy.id} of ${project}; schedule: ${policy.trigger.settings.cron || 'none (runs only when asked)'}\nan artifact is kept when any enabled rule keeps it; the others are deleted when the policy runs\n\n`);
    print(
      table(policy.rules, [
        ['RULE', (r) => String(policy.rules.indexOf(r) + 1)],
        ['KEEP', (r) => ruleLine(r)],
        ['OF TAGS', (r) => describeSelectors(r.tag_selectors, false)],
        ['IN REPOSITORIES', (r) => describeSelectors(r.scope_selectors.repository, true)],
        ['STATE', (r) => (r.disabled ? 'disabled' : 'enabled')],
      ]),
    );
  });

  apiOptions(
    selectorOptions(
      retention
        .command('set')
        .argument('<project>', 'project name')
        .description("Set the project's policy to one rule from the flags (or the rules or policy in --file); makes the policy if there is none. Run it with --dry-run before scheduling it."),
    ),
  )
    .option('--keep-latest <n>', 'keep the n most recently pushed artifacts')
    .option('--keep-latest-pulled <n>', 'keep the n most recently pulled')
    .option('--keep-active <n>', 'keep the n most recently pushed or pulled')
    .option('--keep-days <n>', 'keep those pushed in the last n days')
    .option('--keep-pulled-days <n>', 'keep those pulled in the last n days')
    .option('--always', 'keep every artifact the selectors select')
    .option('--untagged', 'the rule also selects untagged artifacts (default: not)')
    .option('--schedule <cron>', 'run on this 6-field cron (seconds first: "0 0 3 * * *" is 03:00 daily); "" for none')
    .action(async (project: string, f: Flags & SelectorFlags & Record<string, string | boolean | undefined>) => {
      const api = apiClient(f);
      const { id: projectId, metadata } = await projectOf(api, project);
      const existing = metadata.retention_id === undefined ? undefined : ((await api.call('GET', `/retentions/${metadata.retention_id}`)).body as { trigger: { settings: { cron: string } } });
      let rules: unknown[];
      let fromFile: Record<string, unknown> | undefined;
      if (f.file) {
        const doc = await readJson(f.file);
        if (Array.isArray(doc)) rules = doc;
        else if (doc && typeof doc === 'object' && Array.isArray((doc as { rules?: unknown }).rules)) {
          fromFile = doc as Record<string, unknown>;
          rules = fromFile.rules as unknown[];
        } else throw new CliError(`${f.file} holds neither a list of rules nor a policy with "rules"`, 2);
      } else {
        const chosen = TEMPLATE_FLAGS.filter(([flag]) => f[flag] !== undefined);
        if (chosen.length + (f.always ? 1 : 0) !== 1) throw new CliError('say what to keep with one of --keep-latest, --keep-latest-pulled, --keep-active, --keep-days, --keep-pulled-days, --always (or --file)', 2);
        const params: Record<string, number> = {};
        let template = 'always';
        if (chosen.length === 1) {
          const [flag, t] = chosen[0]!;
          const n = Number(f[flag]);
          if (!Number.isInteger(n) || n < 0) throw new CliError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} takes a whole number`, 2);
          template = t;
          params[t] = n;
        }
        rules = [{ disabled: false, action: 'retain', template, params, ...selectorsFrom(f, Boolean(f.untagged)) }];
      }
      const cron = typeof f.schedule === 'string' ? f.schedule : (existing?.trigger.settings.cron ?? '');
      const policy = { algorithm: 'or', rules, trigger: { kind: 'Schedule', settings: { cron } }, ...fromFile, scope: { level: 'project', ref: projectId } };
      if (metadata.retention_id === undefined) {
        const res = await api.call('POST', '/retentions', policy);
        said(`retention policy ${String(res.headers.location ?? '').split('/').pop()} made for ${project}; try it with minato retention run ${project} --dry-run`);
      } else {
        await api.call('PUT', `/retentions/${metadata.retention_id}`, policy);
        said(`retention policy ${metadata.retention_id} of ${project} changed; try it with minato retention run ${project} --dry-run`);
      }
    });

  apiOptions(retention.command('run').argument('<project>', 'project name').description('Run the policy now and wait for it; with --dry-run nothing is deleted and every artifact is listed with RETAIN or DEL.'))
    .option('--dry-run', 'delete nothing; show what a run would delete')
    .option('--no-wait', 'start the run and return')
    .action(async (project: string, f: Flags & { dryRun?: boolean; wait: boolean }) => {
      const api = apiClient(f);
      const id = await policyIdOf(api, project);
      const res = await api.call('POST', `/retentions/${id}/executions`, { dry_run: Boolean(f.dryRun) });
      const eid = Number(String(res.headers.location ?? '').split('/').pop());
      if (!f.wait) {
        if (f.json) json({ execution: eid });
        else said(`execution ${eid} started`);
        return;
      }
      let execution: Row | undefined;
      for (;;) {
        execution = ((await all(api, `/retentions/${id}/executions`, 100)) as Row[]).find((e) => e.id === eid);
        if (execution && execution.status !== 'Running') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const tasks = (await all(api, `/retentions/${id}/executions/${eid}/tasks?with_log=${f.dryRun || f.json ? 'true' : 'false'}`)) as Row[];
      if (f.json) return json({ execution, tasks });
      if (f.dryRun) {
        for (const t of tasks) print(`${(await api.call('GET', `/retentions/${id}/executions/${eid}/tasks/${t.id}`)).body as string}\n`);
      }
      const verb = f.dryRun ? 'would delete' : 'deleted';
      said(`execution ${eid} ${String(execution.status).toLowerCase()}: ${execution.total ?? 0} artifact(s) in ${tasks.length} repositor${tasks.length === 1 ? 'y' : 'ies'}, ${execution.retained ?? 0} retained, ${verb} ${execution.deleted ?? 0}${execution.error ? ` (${execution.error})` : ''}`);
      if (execution.status !== 'Succeed') throw new CliError(`the run ended ${execution.status}: see minato retention history ${project}`, 1);
    });

  apiOptions(retention.command('history').argument('<project>', 'project name').description("The policy's runs, newest first.")).action(async (project: string, f: Flags) => {
    const api = apiClient(f);
    const rows = await all(api, `/retentions/${await policyIdOf(api, project)}/executions`, 100);
    if (f.json) return json(rows);
    print(
      table(rows, [
        ['ID', (r) => String(r.id)],
        ['STARTED', (r) => date(r.start_time)],
        ['ENDED', (r) => date(r.end_time)],
        ['TRIGGER', (r) => String(r.trigger)],
        ['DRY RUN', (r) => (r.dry_run ? 'yes' : 'no')],
        ['STATUS', (r) => String(r.status)],
        ['RETAINED', (r) => String(r.retained ?? '-')],
        ['DELETED', (r) => String(r.deleted ?? '-')],
      ]),
    );
  });
}
