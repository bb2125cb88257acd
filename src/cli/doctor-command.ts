// `minato doctor REGISTRY`: the command-line side of src/doctor. Usage mistakes (no registry, a
// bad URL, --password-stdin without --user, an unknown flag) exit 2 with one line; otherwise the
// exit status is 1 when a check failed and 0 when none did.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_CONTAINERS_CERTS_DIR, DEFAULT_DOCKER_CERTS_DIR, DEFAULT_REPOSITORY, loadTrustStores, runDoctor } from '../doctor/doctor.js';
import { formatReport } from '../doctor/format.js';
import { parseTarget, TargetError, type Target } from '../doctor/target.js';
import { TrustStoreError } from '../doctor/trust-stores.js';
import { assertName } from '../oci/names.js';

interface DoctorFlags {
  user?: string;
  passwordStdin?: boolean;
  caFile?: string;
  dockerCertsDir?: string;
  containersCertsDir?: string;
  repository: string;
  push: boolean;
  json?: boolean;
}

class UsageError extends Error {}

export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .argument('<registry>', 'registry URL (https://registry.example.com:5443) or host[:port] (https, port 443)')
    .description(
      'Diagnose, from this machine, why a client cannot use a registry (any registry, not only minato): name, TCP, TLS chain, names, ' +
        'expiry and trust (system, --ca-file, docker and podman certs.d), /v2/ and its authentication, and a probe push. ' +
        'Exit status 0: nothing failed; 1: something failed; 2: bad usage.',
    )
    .option('--user <name>', 'user to log in and push with')
    .option('--password-stdin', 'read the password from standard input (else MINATO_PASSWORD)')
    .option('--ca-file <file>', 'PEM CA certificate(s) to check the server against')
    .option('--docker-certs-dir <dir>', `docker's certificate directory`, DEFAULT_DOCKER_CERTS_DIR)
    .option('--containers-certs-dir <dir>', `podman's and skopeo's certificate directory`, DEFAULT_CONTAINERS_CERTS_DIR)
    .option('--repository <name>', 'scratch repository for the probe push (a small blob and 2 MiB, deleted afterwards where allowed)', DEFAULT_REPOSITORY)
    .option('--no-push', 'skip the probe push')
    .option('--json', 'print one JSON object { target, checks, ok }')
    .showHelpAfterError(false)
    .exitOverride((err) => {
      // Commander already printed its one line ("error: unknown option '--x'"); help exits 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    })
    .action(async (registry: string, flags: DoctorFlags) => {
      try {
        await doctor(registry, flags);
      } catch (err) {
        if (!(err instanceof UsageError || err instanceof TargetError || err instanceof TrustStoreError)) throw err;
        process.stderr.write(`minato doctor: ${err.message}\n`);
        process.exitCode = 2;
      }
    });
}

function credentials(flags: DoctorFlags): { user: string; password: string } | undefined {
  if (flags.passwordStdin && !flags.user) throw new UsageError('--password-stdin needs --user');
  if (!flags.user) return undefined;
  let password = process.env.MINATO_PASSWORD;
  if (flags.passwordStdin) password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!password) throw new UsageError(`give the password of ${flags.user} on standard input (--password-stdin) or in MINATO_PASSWORD`);
  return { user: flags.user, password };
}

async function doctor(registry: string, flags: DoctorFlags): Promise<void> {
  const target: Target = parseTarget(registry);
  try {
    assertName(flags.repository);
  } catch {
    throw new UsageError(`--repository "${flags.repository}" is not a repository name (lowercase components like team/app)`);
  }
  const creds = credentials(flags);
  const stores = await loadTrustStores(target, flags);
  const report = await runDoctor({ target, ...(creds ? { credentials: creds } : {}), stores, repository: flags.repository, push: flags.push });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  process.exitCode = report.ok ? 0 : 1;
}
