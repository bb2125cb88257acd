// minato's command line. Thin: parses flags, loads the configuration, calls services.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import pino from 'pino';
import { DatabaseUsers } from '../auth/database-users.js';
import { addCaCommands } from './ca-commands.js';
import { addContentCommands } from './content-commands.js';
import { addScrubCommands } from './scrub-command.js';
import { addGcCommand } from './gc-command.js';
import { addVulndbCommands } from './vulndb-command.js';
import { addRuleCommands } from './rule-commands.js';
import { addTrustCommands } from './trust-commands.js';
import { configDocs } from '../config/docs.js';
import { redact } from '../config/redact.js';
import { certRenew, certStatus, type ApiFlags } from './cert-commands.js';
import { addDoctorCommand } from './doctor-command.js';
import { addLoginCommands, addRemoteUserCommands, addRobotCommands, remoteUserDelete, remoteUserList, userCommandIsLocal } from './identity-commands.js';
import { UsageError } from './remote.js';
import { ConfigError, loadConfig, setPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ensureDataDir, startRegistry } from '../server/compose.js';
import { openMetadata } from '../server/compose-registry.js';
import { memoryMode, missingFlags, TUNED_NODE_FLAGS } from './launch.js';
import { minatoVersion } from '../util/version.js';

interface ConfigFlags {
  config?: string;
  listen?: string;
  data?: string;
  htpasswd?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

const FLAG_PATHS: Array<[keyof ConfigFlags, string[]]> = [
  ['listen', ['listen']],
  ['data', ['data']],
  ['htpasswd', ['auth', 'htpasswd']],
  ['tlsCert', ['tls', 'cert']],
  ['tlsKey', ['tls', 'key']],
  ['logLevel', ['log', 'level']],
];

function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (see docs/configuration.md)')
    .option('--data <dir>', 'data directory (blobs, database, keys)', undefined)
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']));
}

async function configFrom(flags: ConfigFlags): Promise<Config> {
  const overrides: Record<string, unknown> = {};
  for (const [flag, p] of FLAG_PATHS) if (flags[flag] !== undefined) setPath(overrides, p, flags[flag]);
  return loadConfig({ file: flags.config, overrides });
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('minato')
    .description('A self-hosted OCI container registry that takes care of its own certificates.')
    .version(minatoVersion())
    .showHelpAfterError();

  withConfigFlags(
    program
      .command('serve')
      .description('Run the registry (embedded default: filesystem blobs + SQLite in --data).')
      .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:5000)')
      .option('--htpasswd <file>', 'htpasswd file with the users (default: users in the database)')
      .option('--tls-cert <file>', 'PEM certificate chain for HTTPS')
      .option('--tls-key <file>', 'PEM private key for HTTPS'),
  ).action(async (flags: ConfigFlags) => {
    const config = await configFrom(flags);
    await serve(config);
  });

  addLoginCommands(program);
  const user = program
    .command('user')
    .description(
      'Manage users. list and delete work on the registry logged in to (minato login) or, with --data or --config or when no login is stored, on the database on this machine; add is always local; create, passwd and admin talk to the registry logged in to.',
    );
  withConfigFlags(user.command('add').argument('<name>', 'user name').description('Create a user or set its password (read from standard input, or generated and printed).'))
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, flags: ConfigFlags & { passwordStdin?: boolean }) => {
      await withUsers(flags, async (users) => {
        let password: string;
        if (flags.passwordStdin) {
          password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
          if (password === '') throw new Error('empty password on standard input');
        } else {
          password = (await import('node:crypto')).randomBytes(18).toString('base64url');
          process.stdout.write(`password for ${name}: ${password}\n`);
        }
        await users.setPassword(name, password);
        process.stderr.write(`user ${name} saved\n`);
      });
    });
  withConfigFlags(user.command('list').description('List users (of the registry logged in to, or local: see `minato user --help`).'))
    .option('--registry <url>', 'the registry logged in to')
    .option('--json', 'print JSON (API only)')
    .action(async (flags: ConfigFlags & { registry?: string; json?: boolean }) => {
      if (!(await userCommandIsLocal(flags))) return remoteUserList(flags);
      await withUsers(flags, async (users) => {
        for (const u of await users.listUsers()) process.stdout.write(`${u}\n`);
      });
    });
  withConfigFlags(user.command('delete').argument('<name>', 'user name').description('Delete a user (of the registry logged in to, or local).'))
    .option('--registry <url>', 'the registry logged in to')
    .action(async (name: string, flags: ConfigFlags & { registry?: string }) => {
      if (!(await userCommandIsLocal(flags))) return remoteUserDelete(name, flags);
      await withUsers(flags, async (users) => {
        if (!(await users.deleteUser(name))) throw new Error(`no user named ${name}`);
        process.stderr.write(`user ${name} deleted\n`);
      });
    });
  addRemoteUserCommands(user);
  addRobotCommands(program);

  addCaCommands(program, { withConfigFlags, configFrom });

  const cert = program.command('cert').description('Inspect and renew the served certificate (tls.mode acme, ca or files).');
  const apiOptions = (c: Command) =>
    c
      .option('--url <url>', 'base URL of the running server (for the management API)')
      .option('--user <name>', 'user for the management API')
      .option('--password-stdin', 'read the password from standard input (else MINATO_PASSWORD)')
      .option('--ca-file <file>', 'CA to trust for --url')
      .option('--insecure', 'do not verify the server certificate of --url');
  apiOptions(withConfigFlags(cert.command('status').description('Names, issuer, serial, validity, next renewal and last error. Exit code 2 when the last attempt failed.')))
    .option('--json', 'print JSON')
    .action(async (flags: ConfigFlags & ApiFlags & { json?: boolean }) => certStatus(await configFrom(flags), flags));
  apiOptions(cert.command('renew').description('Renew the certificate now through the running server, with a progress line.'))
    .option('--force', 'renew even when it is not due yet')
    .action(async (flags: ApiFlags & { force?: boolean }) => certRenew(flags));

  addDoctorCommand(program);
  addContentCommands(program);
  addScrubCommands(program);
  addGcCommand(program);
  addVulndbCommands(program, { withConfigFlags, configFrom });
  addRuleCommands(program);
  addTrustCommands(program);

  withConfigFlags(
    program
      .command('migrate')
      .description(
        'Copy an embedded registry (SQLite + filesystem in --from-data) into the one the configuration describes (database and storage, e.g. PostgreSQL + S3): ' +
          'every blob re-verified against its digest, then repositories, manifests, tags and users. Resumes where an interrupted run stopped. Exit status 1 when a blob was refused.',
      )
      .requiredOption('--from-data <dir>', 'data directory of the embedded registry to copy')
      .option('--json', 'print the report as JSON'),
  ).action(async (flags: ConfigFlags & { fromData: string; json?: boolean }) => {
    const { runMigrate } = await import('./migrate-command.js');
    const report = await runMigrate(await configFrom(flags), flags.fromData, { json: flags.json });
    if (report.blobs.refused.length > 0) process.exitCode = 1;
  });

  const config = program.command('config').description('Inspect the configuration.');
  config
    .command('docs')
    .description('Print the configuration reference (Markdown), generated from the schema.')
    .action(() => {
      process.stdout.write(configDocs());
    });
  withConfigFlags(config.command('check').description('Validate the configuration and print the effective values.')).action(async (flags: ConfigFlags) => {
    process.stdout.write(`${JSON.stringify(redact(await configFrom(flags)), null, 2)}\n`);
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(err.message);
    if (err instanceof UsageError) {
      // Exit status 2 for a usage error, 1 for a refusal or failure.
      process.stderr.write(`minato: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function withUsers(flags: ConfigFlags, fn: (users: DatabaseUsers) => Promise<void>): Promise<void> {
  const config = await configFrom(flags);
  if (config.auth.htpasswd) throw new Error(`users come from ${config.auth.htpasswd}; edit it with: htpasswd -B ${config.auth.htpasswd} NAME`);
  const dataDir = await ensureDataDir(config);
  const { meta, db } = await openMetadata(config, dataDir, pino({ level: 'warn' }, pino.destination(2)));
  try {
    await fn(new DatabaseUsers(db));
  } finally {
    await meta.close();
  }
}

async function serve(config: Config): Promise<void> {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 0 });
  const log = pino({ level: config.log.level, base: { svc: 'minato' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  logMemoryMode(log);
  const registry = await startRegistry(config, log);
  if (registry.initialAdminPassword) {
    // Shown once, on the terminal only (not in the JSON log): only its bcrypt hash is stored.
    process.stderr.write(
      `\n  minato created the user "admin" with password: ${registry.initialAdminPassword}\n` +
        `  It is shown only this once. Log in with: docker login ${new URL(registry.url).host} -u admin\n` +
        `  Change it with: minato user add admin --password-stdin\n\n`,
    );
  }
  // After the password: whoever waits for this line (a supervisor, the e2e tests) has both.
  log.info(
    { url: registry.url, data: path.resolve(config.data), tls: config.tls.mode, auth: config.auth.htpasswd ? 'htpasswd' : 'database', challenge: config.auth.token.enabled ? config.auth.challenge : 'basic' },
    'minato is serving',
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests in flight');
    await registry.close();
    destination.flushSync();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // A bug must not vanish with the log lines still buffered: log it, flush, and exit non-zero so
  // the supervisor starts a clean process. Acknowledged pushes are already durable and uploads
  // in progress resume, so stopping is safer than serving from a state nobody planned for.
  const fatal = (what: string) => (err: unknown) => {
    log.fatal({ err }, `${what}: a bug in minato; exiting so that a supervisor restarts it (please report this log line)`);
    destination.flushSync();
    process.exit(70);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled promise rejection'));
}

/** Says in the start-up log how the server got (or did not get) its node flags. */
function logMemoryMode(log: pino.Logger): void {
  const mode = memoryMode();
  const flags = TUNED_NODE_FLAGS.join(' ');
  if (mode === 'tuned') log.info({ memory: mode }, `memory tuning on: node flags from the command line (${flags})`);
  else if (mode === 'relaunched') log.info({ memory: mode, pid: process.pid, launcher: process.ppid }, `memory tuning on: started without the node flags, so this server runs as a child process with them (${flags}); its parent only forwards signals`);
  else {
    const why = process.env.MINATO_NODE_TUNING === 'off' ? 'MINATO_NODE_TUNING=off' : `missing ${missingFlags(process.execArgv).join(' ')}`;
    log.warn({ memory: mode }, `memory tuning off (${why}): node runs with its defaults, so peak memory is higher (docs/operations.md, "Memory")`);
  }
}
