// `minato trust-policy show|set|add-key|remove-key <project>` (`minato trust` hands out the private CA): a project's trust policy (the level at
// which pulls of unsigned manifests are refused, warned about or recorded, and the public keys
// cosign and sigstore-bundle signatures are verified with) over the management API
// (cli/api-client.ts), readable or --json. The server checks every key; these commands only
// read files and shape requests.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { apiClient, CliError, type ApiClient } from './api-client.js';
import { apiOptions, json, print, said, table, type Flags } from './content-commands.js';

interface Policy {
  level: string;
  effective_level: string;
  requirements: string[];
  version: number;
  public_keys: Array<{ name: string; pem: string }>;
  notation: { certificates: unknown[]; trusted_identities: string[] };
  gpg_keys: unknown[];
  keyless: { trusted_root_json?: string; identities: unknown[] };
}

const LEVELS = ['off', 'audit', 'warn', 'enforce'];
const path = (project: string) => `/projects/${encodeURIComponent(project)}/trust`;

async function policyOf(api: ApiClient, project: string): Promise<Policy> {
  return (await api.call('GET', path(project))).body as Policy;
}

function show(p: Policy, project: string): void {
  const raised = p.effective_level !== p.level ? ` (enforce: Harbor's enable_content_trust* metadata is set)` : '';
  print(`project ${project}: level ${p.level}${raised}, version ${p.version}\n`);
  if (p.requirements.length > 0) print(`pulls must carry: ${p.requirements.join('; ')}\n`);
  if (p.public_keys.length === 0) print('no public keys: no cosign or sigstore-bundle signature can verify\n');
  else print(table(p.public_keys, [['KEY', (k) => k.name], ['TYPE', (k) => keyLine(k.pem)]]));
}

/** The first line of a PEM body, shortened: enough to tell keys apart on screen. */
function keyLine(pem: string): string {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return `${body.slice(0, 24)}…`;
}

async function readKey(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
}

export function addTrustCommands(program: Command): void {
  const trust = program.command('trust-policy').description("A project's trust policy: which signatures a pull needs, and the keys that verify them.");

  apiOptions(trust.command('show').argument('<project>', 'project name').description('The level, what pulls must carry and the trusted keys.')).action(async (project: string, f: Flags) => {
    const p = await policyOf(apiClient(f), project);
    if (f.json) return json(p);
    show(p, project);
  });

  apiOptions(trust.command('set').argument('<project>', 'project name').description('Set the level (keys are kept); with --key, also replace the keys.'))
    .requiredOption('--level <level>', `one of ${LEVELS.join(', ')}`)
    .option('--key <name=file.pub...>', 'a PEM public key file under a name (repeatable); replaces every key', (v: string, acc: string[] = []) => [...acc, v])
    .action(async (project: string, f: Flags & { level: string; key?: string[] }) => {
      if (!LEVELS.includes(f.level)) throw new CliError(`--level is one of ${LEVELS.join(', ')}, not "${f.level}"`, 2);
      const api = apiClient(f);
      const current = await policyOf(api, project);
      let keys = current.public_keys;
      if (f.key) {
        keys = [];
        for (const spec of f.key) {
          const at = spec.indexOf('=');
          if (at <= 0) throw new CliError(`--key takes NAME=FILE (e.g. ci=cosign.pub), not "${spec}"`, 2);
          keys.push({ name: spec.slice(0, at), pem: await readKey(spec.slice(at + 1)) });
        }
      }
      const body = { level: f.level, public_keys: keys, notation: current.notation, gpg_keys: current.gpg_keys, keyless: current.keyless };
      const p = (await api.call('PUT', path(project), body)).body as Policy;
      if (f.json) return json(p);
      said(`trust policy of ${project}: level ${p.level}, ${p.public_keys.length} key(s), version ${p.version}`);
    });

  apiOptions(trust.command('add-key').argument('<project>', 'project name').argument('<name>', "the key's name (shown as the signer)").argument('<file>', 'a PEM public key (cosign.pub)'))
    .description('Trust one more public key.')
    .action(async (project: string, name: string, file: string, f: Flags) => {
      const p = (await apiClient(f).call('POST', `${path(project)}/keys`, { name, pem: await readKey(file) })).body as Policy;
      if (f.json) return json(p);
      said(`key ${name} added to the trust policy of ${project} (version ${p.version})`);
    });

  apiOptions(trust.command('remove-key').argument('<project>', 'project name').argument('<name>', "the key's name"))
    .description('Stop trusting a public key: what only it signed is no longer valid.')
    .action(async (project: string, name: string, f: Flags) => {
      const p = (await apiClient(f).call('DELETE', `${path(project)}/keys/${encodeURIComponent(name)}`)).body as Policy;
      if (f.json) return json(p);
      said(`key ${name} removed from the trust policy of ${project} (version ${p.version})`);
    });
}
