// `minato ca init|show` and `minato trust`: the private CA from the command line. Thin: parses
// flags and calls src/tls (private-ca.ts, trust-exporters.ts).
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { withAssets } from '../server/coordination-setup.js';
import { parseListen } from '../server/listen.js';
import { encodePkcs12 } from '../tls/pkcs12.js';
import type { PrivateCa } from '../tls/private-ca.js';

// Loaded when a ca command runs: @peculiar/x509 costs ~19 MiB that `minato serve` need not pay.
const privateCa = () => import('../tls/private-ca.js');
import { exportTrust, isTrustFormat, toShellScript, TRUST_FORMATS, type TrustExport, type TrustFormat } from '../tls/trust-exporters.js';
import { X509Certificate } from 'node:crypto';
import { describeKey } from '../coordination/open.js';

export interface CliHelpers {
  withConfigFlags(cmd: Command): Command;
  configFrom(flags: object): Promise<Config>;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

export function addCaCommands(program: Command, { withConfigFlags, configFrom }: CliHelpers): void {
  const ca = program.command('ca').description('The built-in private CA (tls.mode "ca"), kept in <data>/ca/.');

  withConfigFlags(
    ca
      .command('init')
      .description('Create the private CA (ECDSA P-256), or import an existing one (easy-rsa pki/ca.crt + pki/private/ca.key, openssl).')
      .option('--import-cert <file>', 'PEM CA certificate to import')
      .option('--import-key <file>', 'its private key (PKCS#8, "EC PRIVATE KEY" or "RSA PRIVATE KEY" PEM)')
      .option('--import-key-passphrase-file <file>', 'file holding the passphrase of an encrypted key')
      .option('--name-constraint <name...>', 'DNS name (and its subdomains) or IP range the new CA may issue for; repeatable or comma-separated', collect)
      .option('--common-name <cn>', 'subject CN of a new CA (default "minato private CA (<hostname>)")')
      .option('--validity-years <n>', 'lifetime of a new CA (default tls.ca.caValidityYears)')
      .option('--force', 'replace an existing CA (every client must then trust the new one)'),
  ).action(async (flags: { importCert?: string; importKey?: string; importKeyPassphraseFile?: string; nameConstraint?: string[]; commonName?: string; validityYears?: string; force?: boolean }) => {
    const config = await configFrom(flags);
    let result: PrivateCa;
    if (flags.importCert || flags.importKey) {
      if (!flags.importCert || !flags.importKey) throw new Error('--import-cert and --import-key go together');
      if (flags.nameConstraint) throw new Error('--name-constraint applies to a new CA only; an imported CA keeps its own');
      const { PrivateCa } = await privateCa();
      const certPem = await readFile(flags.importCert, 'utf8');
      const keyPem = await readFile(flags.importKey, 'utf8');
      result = await withAssets(config, (assets) => PrivateCa.import(assets, {
        certPem,
        keyPem,
        passphrase: flags.importKeyPassphraseFile ? readFileSync(flags.importKeyPassphraseFile, 'utf8').replace(/\r?\n$/, '') : undefined,
        force: flags.force,
      }));
      process.stderr.write(`imported the CA into ${result.location}\n`);
    } else {
      const years = flags.validityYears === undefined ? config.tls.ca.caValidityYears : Number(flags.validityYears);
      if (!Number.isInteger(years) || years <= 0) throw new Error('--validity-years must be a positive whole number');
      const { PrivateCa } = await privateCa();
      result = await withAssets(config, (assets) =>
        PrivateCa.create(assets, {
          commonName: flags.commonName,
          validityYears: years,
          permittedNames: flags.nameConstraint ?? config.tls.ca.permittedNames,
          force: flags.force,
        }),
      );
      process.stderr.write(`created a CA in ${result.location}\n`);
    }
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    printCa(result);
    process.stderr.write(`clients trust it with: minato trust --format docker|containerd|podman|... (or GET /ca.crt from the registry)\n`);
  });

  withConfigFlags(ca.command('show').description('Print the CA (subject, SHA-256 fingerprint, validity) and the server certificate it issued.').option('--json', 'as JSON')).action(
    async (flags: { json?: boolean }) => {
      const config = await configFrom(flags);
      const { PrivateCa } = await privateCa();
      const { loaded, stored } = await withAssets(config, async (assets) => {
        const ca = await PrivateCa.load(assets);
        return { loaded: ca, stored: await ca.loadServerCertificate() };
      });
      const server = stored && new X509Certificate(stored.certPem);
      const serverInfo = server && { subject: server.subject, names: server.subjectAltName, notBefore: new Date(server.validFrom).toISOString(), notAfter: new Date(server.validTo).toISOString() };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ca: loaded.info(), server: serverInfo }, null, 2)}\n`);
        return;
      }
      printCa(loaded);
      if (serverInfo) process.stdout.write(`server certificate: ${serverInfo.names}\n  valid ${serverInfo.notBefore} .. ${serverInfo.notAfter}\n`);
      else process.stdout.write('server certificate: none yet (issued at the first start in tls.mode ca)\n');
    },
  );

  withConfigFlags(
    program
      .command('trust')
      .description('Hand clients the private CA in their own form: written under --out DIR (mirroring /), or printed (a shell script, or the document itself).')
      .option('--host <host:port>', 'the registry as clients name it (default: externalUrl, else the listen address or this hostname)')
      .option('--format <format...>', `one or more of: ${Object.keys(TRUST_FORMATS).join(', ')}, all`, collect)
      .option('--out <dir>', 'write the files under this directory (e.g. /, or a staging dir); without it, print')
      .option('--user <name>', 'k8s-pull-secret: user name')
      .option('--password-stdin', 'k8s-pull-secret: read the password from standard input')
      .option('--namespace <ns>', 'Kubernetes namespace (DaemonSet: kube-system, secret: default)')
      .option('--image <image>', 'k8s-daemonset: image with /bin/sh (default busybox:1.36)'),
  ).action(async (flags: { host?: string; format?: string[]; out?: string; user?: string; passwordStdin?: boolean; namespace?: string; image?: string }) => {
    const config = await configFrom(flags);
    const { CA_KEYS } = await privateCa();
    const caPem = await withAssets(config, async (assets) => {
      const pem = await assets.load(CA_KEYS.caCert);
      if (pem === undefined) throw new Error(`no CA at ${describeKey(assets, CA_KEYS.caCert)}: run "minato ca init" first (same --data/--config as the server)`);
      return pem.toString('utf8');
    });
    const host = flags.host ?? defaultHost(config);
    let formats = flags.format ?? [];
    if (formats.includes('all')) formats = Object.keys(TRUST_FORMATS).filter((f) => f !== 'k8s-pull-secret' || flags.user);
    if (formats.length === 0) {
      if (!flags.out) {
        process.stdout.write(`Formats for ${host} (minato trust --format F [--out DIR]):\n`);
        for (const [f, d] of Object.entries(TRUST_FORMATS)) process.stdout.write(`  ${f.padEnd(16)} ${d}\n`);
        return;
      }
      formats = Object.keys(TRUST_FORMATS).filter((f) => f !== 'k8s-pull-secret' || flags.user);
    }
    const bad = formats.filter((f) => !isTrustFormat(f));
    if (bad.length) throw new Error(`unknown format ${bad.join(', ')}; known: ${Object.keys(TRUST_FORMATS).join(', ')}, all`);
    const password = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined;
    const exports: TrustExport[] = [];
    for (const format of formats as TrustFormat[]) {
      exports.push(
        exportTrust(format, {
          caPem,
          host,
          user: flags.user,
          password,
          namespace: flags.namespace,
          image: flags.image,
          pkcs12: format === 'p12' ? await encodePkcs12(caPem) : undefined,
        }),
      );
    }
    if (flags.out) {
      for (const exp of exports) {
        for (const f of exp.files) {
          const target = path.join(flags.out, f.path);
          await mkdir(path.dirname(target), { recursive: true });
          await writeFile(target, f.content, { mode: exp.format === 'k8s-pull-secret' ? 0o600 : 0o644 });
          process.stderr.write(`${exp.format}: wrote ${target}\n`);
        }
        for (const c of exp.commands) process.stderr.write(`${exp.format}: then run: ${c}\n`);
      }
      return;
    }
    for (const exp of exports) {
      if (exp.document) {
        if (Buffer.isBuffer(exp.document.content) && process.stdout.isTTY) throw new Error(`${exp.format} is binary: redirect it to a file or use --out DIR`);
        process.stdout.write(exp.document.content);
      } else process.stdout.write(toShellScript(exp));
    }
  });
}

function printCa(ca: PrivateCa): void {
  const i = ca.info();
  const constraints = ca.permittedNamesText();
  process.stdout.write(
    `subject:     ${i.subject}\n` +
      `fingerprint: SHA256 ${i.fingerprintSha256}\n` +
      `serial:      ${i.serial}\n` +
      `valid:       ${i.notBefore} .. ${i.notAfter}\n` +
      `key:         ${i.key}\n` +
      `constraints: ${i.nameConstraints ? constraints.join(', ') || '(present, none on DNS/IP)' : 'none'}\n` +
      `file:        ${ca.certificateLocation}\n`,
  );
}

/** The host:port clients most likely use: externalUrl, else the listen address, else this hostname. */
export function defaultHost(config: Config): string {
  if (config.externalUrl) return new URL(config.externalUrl).host;
  const { host, port } = parseListen(config.listen);
  const h = host === '0.0.0.0' || host === '::' || host === '' ? os.hostname().toLowerCase() : host.includes(':') ? `[${host}]` : host;
  return port === 443 ? h : `${h}:${port}`;
}
