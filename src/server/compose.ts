// The composition root: builds every service from the configuration and wires them into the
// app. Nothing here is global, so several registries can run in one process (tests do).
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Admins } from '../auth/admins.js';
import { AccessStore } from '../auth/access-store.js';
import { CliTokens } from '../auth/cli-tokens.js';
import { Authenticator } from '../auth/authenticator.js';
import { RegistryPolicy } from '../auth/policy.js';
import { ProjectAccess } from '../auth/project-access.js';
import { Identities, isRobotLogin, RobotIdentity, ROBOT_PREFIX } from '../auth/robot-identity.js';
import { Projects } from '../core/projects.js';
import { Quotas } from '../core/quotas.js';
import { CredentialCache } from '../auth/credential-cache.js';
import { DatabaseUsers } from '../auth/database-users.js';
import { HtpasswdFile } from '../auth/htpasswd-file.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import type { IdentityProvider } from '../auth/identity.js';
import { TokenService } from '../auth/token-service.js';
import type { Config } from '../config/schema.js';
import type { WriteGate } from '../metadata/metadata-store.js';
import { buildApp } from './app.js';
import { loadUiFiles } from '../web/ui-files.js';
import { ClientAddresses } from './client-address.js';
import { composeManagementApi } from './compose-api.js';
import { composeRegistryCore, type RegistryCore, type ScanDeps } from './compose-registry.js';
import { certificateEvents, loginEvents } from './event-sources.js';
import { ExternalUrl } from './external-url.js';
import { createDdnsUpdater } from '../dns/registry.js';
import { ManualRenewal } from '../tls/manual-renewal.js';
import { createCertificates } from './certificates.js';
import { isFleet, openShared } from './coordination-setup.js';
import { writeStatusOnChange } from './cert-status.js';
import { createServerFactory, parseListen, plainHttpWarning } from './listen.js';
import { Metrics } from './metrics.js';
import { startMetricsListener, type MetricsListener } from './metrics-endpoint.js';
import { ProxyWarning } from './proxy-warning.js';
import { Scheduler } from '../jobs/scheduler.js';
import { composeScrub } from './compose-scrub.js';
import { applySchedule, gcJob, loadSchedule } from '../gc/gc-job.js';
import { Retention } from '../core/retention.js';
import { RepositoryFacts } from '../retention/repository-facts.js';
import type { InventoryOfImage } from '../scan/builtin-scanner.js';
import { inventoryOfImage } from '../scan/inventory-of.js';
import { ScannerAdapterClient } from '../scan/adapter/adapter-client.js';
import { ProjectScanners } from '../scan/adapter/project-scanners.js';
import { ScannerRegistrations } from '../scan/adapter/registrations.js';
import { minatoVersion } from '../util/version.js';
import { RobotScanCredentials } from '../scan/adapter/scan-credentials.js';
import { untilAborted } from '../util/async.js';
import { composeScan, deferredSink, type ScanComposition } from './compose-scan.js';

/** How long a stop waits for requests in flight before it closes their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningRegistry {
  app: FastifyInstance;
  /** The URL the registry answers on, with the port the kernel chose when listen used port 0. */
  url: string;
  /** The generated admin password on a first start without any identity source, else undefined. */
  initialAdminPassword?: string;
  users?: DatabaseUsers;
  /** Projects, members and robots (the use cases), and who may do what. */
  projects: Projects;
  access: ProjectAccess;
  cliTokens: CliTokens;
  quotas: Quotas;
  /** The vulnerability gate (reportChanged when a report arrives), the allowlists and the scanner logins. */
  scanPolicy: RegistryCore['scanPolicy'];
  close(): Promise<void>;
}

/** The data directory, made if missing (private: it holds keys and password hashes). */
export async function ensureDataDir(config: Config): Promise<string> {
  const dataDir = path.resolve(config.data);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create the data directory ${dataDir} (--data, MINATO_DATA): ${(err as Error).message}`);
  }
  return dataDir;
}

/** What a caller (an embedding program, a test) gives the registry beyond its configuration. */
export interface StartOptions {
  /** The built-in scanner's layer reader; absent: scan/inventory-of.ts's. */
  inventoryOf?: InventoryOfImage;
  /** Scanning from elsewhere for the vulnerability gate and SBOMs (tests); absent: the built-in scanner's. */
  scan?: ScanDeps;
}

export async function startRegistry(config: Config, log: Logger, options: StartOptions = {}): Promise<RunningRegistry> {
  // Certificates first: a broken one stops start-up before anything else is opened.
  const dataDir = await ensureDataDir(config);
  const shared = await openShared(config, dataDir);
  const certificates = await createCertificates(config, dataDir, log, shared).catch(async (err: unknown) => {
    await shared.close();
    throw err;
  });
  const tlsOn = certificates.provider !== undefined;
  const clients = new ClientAddresses(config.trustedProxies);
  const { connections } = config;
  const serverFactory = await createServerFactory(certificates.provider, {
    ciphers: config.tls.ciphers,
    connections: {
      headersTimeoutMs: connections.headersTimeoutSeconds * 1000,
      keepAliveTimeoutMs: connections.keepAliveTimeoutSeconds * 1000,
      idleTimeoutMs: connections.idleTimeoutSeconds * 1000,
      maxPerAddress: connections.maxPerAddress,
    },
    isTrustedProxy: (address) => clients.isTrustedProxy(address),
    onLimited: (address, open) =>
      log.warn(
        { mod: 'server.connections', address, open },
        `${address} holds ${open} connections, the most connections.maxPerAddress allows: further ones are closed on connect. Raise the limit for a proxy or NAT gateway, or add a proxy to trustedProxies`,
      ),
  });

  const metrics = config.metrics.enabled ? new Metrics() : undefined;
  // Background jobs (gc, retention, scrub) register here; each runs once at a time in the fleet.
  const jobs = new Scheduler({
    locker: shared.coordination.locker,
    kv: shared.coordination.kv,
    log: log.child({ mod: 'jobs' }),
    onFinished: (run) => metrics?.observeJob(run),
  });
  // The authorization decider asks the authenticator, made below once its identity source exists.
  let auth: Authenticator | undefined;
  let retention: Retention | undefined;
  let scan: ScanComposition | undefined;
  // The vulnerability gate and SBOMs read the scanning composed below, once the core exists.
  const scanDeps: ScanDeps = options.scan ?? {
    summaries: { get: async (digest) => scan?.reports.get(digest) },
    inventories: { get: async (digest) => scan?.reports.inventory(digest) },
    scanNow: async (target, signal) => {
      if (!scan) throw new Error('scanning is not ready yet');
      await scan.service.request(target);
      await untilAborted(scan.service.settled(target.digest), signal);
    },
  };
  const core = await composeRegistryCore(config, dataDir, log, {
    scan: scanDeps,
    permissions: { permits: (grant, need) => auth!.permits(grant, need) },
    // The principal's own rights, not a token's scopes: a catalog token names no repository.
    listable: (principal, repository) => policy.isAllowed(principal, 'repository', repository, 'pull'),
    locker: isFleet(config) ? shared.coordination.locker : undefined,
    retentionChanged: () => retention?.sync().catch((err: unknown) => log.error({ err }, 'could not reload the retention policies after a change elsewhere; the next change retries')),
    usersChanged: (origins) => users?.changedElsewhere(origins),
    accessChanged: (origins) => {
      if (!origins.some((o) => o !== origin)) return;
      robots?.changed();
      // A deleted project's retention policy loses its schedule.
      retention?.sync().catch((err: unknown) => log.error({ err }, 'could not reload the retention policies after a project change elsewhere; the next change retries'));
      access?.reload().catch((err: unknown) => log.error({ err }, 'could not reload projects and roles after a change elsewhere; the next change retries'));
    },
    sinks: [deferredSink('scan-on-push', 'fleet', () => scan?.service.sink())],
    observeUpload: metrics && {
      started: () => metrics.uploadsInFlight.inc(),
      finished: (bytes) => {
        metrics.uploadsInFlight.dec();
        metrics.bytesIn.inc(bytes);
      },
    },
  });

  const scrub = composeScrub(config, { core, jobs, kv: shared.coordination.kv, log: log.child({ mod: 'scrub' }), metrics });
  // Garbage collection: the schedule an administrator set through the API wins over gc.schedule.
  const gc = gcJob(core.gc, config.gc, (result) => metrics?.observeGc(result));
  jobs.register(gc);
  await applySchedule(jobs, undefined, gc, (await loadSchedule(shared.coordination.kv)) ?? gc.schedule);

  // Names this process in the changes it writes to the outbox, so it does not apply them twice.
  const origin = randomUUID();
  // Kysely writes wait for the metadata store's writer (see MetadataStore.outsideTransactions).
  const writes: WriteGate = (fn) => core.meta.outsideTransactions(fn);
  let userIdentity: IdentityProvider;
  let users: DatabaseUsers | undefined;
  let htpasswd: HtpasswdFile | undefined;
  if (config.auth.htpasswd) {
    userIdentity = htpasswd = new HtpasswdFile(config.auth.htpasswd, log.child({ mod: 'auth.htpasswd' }));
  } else {
    users = new DatabaseUsers(core.db, origin, writes);
    userIdentity = users;
  }
  // Projects, roles and robots: one store, a snapshot every decision reads, robots beside the users.
  const accessStore = new AccessStore(core.db, origin, writes);
  const projects = new Projects(accessStore, { defaultStorageLimit: config.quota.defaultStorageLimit });
  const access = await ProjectAccess.open(accessStore, {
    admins: config.auth.admins,
    anonymousPull: config.auth.anonymousPull,
    creation: config.projects.creationRestriction,
    users: htpasswd ? (name) => htpasswd.has(name) : 'database',
  });
  const quotas = new Quotas({ meta: core.meta, access, log: log.child({ mod: 'quota' }) });
  // Tag retention: a job per policy on the scheduler, deleting through the registry's use cases.
  retention = new Retention({
    store: core.tagRules.store,
    jobs,
    projects,
    run: { facts: new RepositoryFacts(core.db), store: core.tagRules.store, artifacts: core.artifacts, immutable: core.tagRules.immutable, events: core.events },
    log: log.child({ mod: 'retention' }),
  });
  await retention.start();
  // Harbor's scanner registrations: the built-in scanner and any adapters, per project.
  const scannerRegistrations = new ScannerRegistrations(core.db, { name: 'minato', version: minatoVersion() }, writes);
  scan = await composeScan({
    db: core.db,
    meta: core.meta,
    blobs: core.blobs,
    writes,
    jobs,
    kv: shared.coordination.kv,
    projectMetadata: async (project) => (await accessStore.getProject(project))?.metadata,
    inventoryOf: options.inventoryOf ?? inventoryOfImage,
    scannerOf: (builtin) =>
      new ProjectScanners({
        builtin,
        registrationOf: async (project) => scannerRegistrations.ofProject((await accessStore.getProject(project))?.id ?? 0),
        adapter: (registration) =>
          new ScannerAdapterClient({
            registration,
            // The adapter pulls from the registry: at its external URL, else where it listens.
            registryUrl: config.externalUrl ?? url,
            credentials: new RobotScanCredentials(projects, log.child({ mod: 'scan.adapter' })),
            timeoutMs: 30 * 60_000,
            pollMs: 2000,
            log: log.child({ mod: 'scan.adapter' }),
          }),
      }),
    log: log.child({ mod: 'scan' }),
  });
  // A report stored here is decided on by the next pull here (other replicas: within the gate's reportTtl).
  scan.reports.onChange((digest) => core.scanPolicy.gate.reportChanged(digest));
  accessStore.onChange(() => retention?.sync());
  // Harbor's enable_content_trust* project metadata is part of the trust policies.
  accessStore.onChange(() => core.trust.policies.reload());
  const robots = new RobotIdentity(accessStore);
  accessStore.onChange(() => robots.changed());
  // Project metadata holds the vulnerability gate's settings: a change here is seen by the next pull.
  accessStore.onChange(() => core.scanPolicy.snapshot.reload());
  users?.onChange(() => access.reload());
  const cliTokens = new CliTokens(core.db, (user) => accessStore.principalId('user', user), writes);
  const identity: IdentityProvider = new Identities(userIdentity, robots, cliTokens);
  const policy = new RegistryPolicy(access, { anonymousPull: config.auth.anonymousPull, autoCreate: config.projects.autoCreate }, async (project, pusher, address) => {
    await projects.createForPush(project, pusher, address);
    // When another request or replica made it first, decide on its real members, not on "missing".
    await access.reload();
  });
  // auth.token.enabled: /token is served and its bearer tokens accepted (whatever the challenge).
  const recordLogin = loginEvents(core.events);
  const tokens = config.auth.token.enabled
    ? await TokenService.open(shared.assets, {
        issuer: config.auth.token.issuer,
        service: config.auth.token.service,
        ttlSeconds: config.auth.token.ttlSeconds,
      })
    : undefined;
  const throttleLog = log.child({ mod: 'auth.throttle' });
  const { throttle: limits } = config.auth;
  const throttle = new LoginThrottle({
    userFailures: limits.userFailures,
    addressFailures: limits.addressFailures,
    windowMs: limits.windowSeconds * 1000,
    onThrottled: ({ scope, address, user, failures, retryAfterSeconds }) =>
      throttleLog.warn(
        { scope, address, user, failures, retryAfterSeconds },
        scope === 'user'
          ? `${failures} failed logins of this user from ${address}: its logins from there get 429 for ${retryAfterSeconds} s. If this is the real user, the password in its client is wrong; other addresses are not affected`
          : `${failures} failed logins from ${address}: logins from there get 429 for ${retryAfterSeconds} s. Behind a proxy, make sure it is in trustedProxies and sends X-Forwarded-For`,
      ),
  });
  auth = new Authenticator(
    identity,
    new CredentialCache(config.auth.credentialCacheSeconds * 1000),
    tokens,
    policy,
    config.auth.anonymousPull,
    {
      throttle,
      onFailure: (reason) => metrics?.authFailures.inc({ reason }),
      onLogin: (login) => {
        recordLogin(login);
        if (login.ok && isRobotLogin(login.user)) {
          accessStore.recordRobotUse(login.user.slice(ROBOT_PREFIX.length), login.address).catch((err: unknown) => log.warn({ err }, 'could not record when a robot signed in'));
        }
      },
    },
  );

  const admins = new Admins(config.auth.admins);
  const urls = new ExternalUrl(config.externalUrl, clients, tlsOn ? 'https' : 'http');

  metrics?.watchStorage(dataDir);
  const readiness = {
    metadata: () => core.meta.ping(),
    storage: () => core.blobs.ping(),
  };
  const served = certificates.provider && {
    provider: certificates.provider,
    renewals: new ManualRenewal(certificates.provider, config.tls.manualRenewalIntervalSeconds * 1000),
  };
  const { privateCa } = certificates;
  // DDNS keeps this host's A/AAAA records current (a NAS reached by its own global IPv6); it runs once the server is up.
  const ddns = createDdnsUpdater(config.ddns, log.child({ mod: 'dns.ddns' }));
  const api = composeManagementApi(config, {
    core,
    auth,
    access,
    projects,
    userExists: htpasswd && ((name) => htpasswd.has(name)),
    clients,
    urls,
    usersInDatabase: users !== undefined,
    identity: { users, projects, cliTokens },
    quotas,
    readiness,
    certificates: served,
    caCertificatePem: privateCa && (() => privateCa.caCertificatePem()),
    ddns,
    jobs,
    scrub,
    gc: { job: gc, kv: shared.coordination.kv },
    retention,
    scan,
    scannerRegistrations,
    log: log.child({ mod: 'scan.adapter' }),
  });
  const uiFiles = config.ui.enabled ? await loadUiFiles() : undefined;
  if (config.ui.enabled && !uiFiles) log.warn('the web UI is not built (dist/ui is missing): / says so; run `npm run build` to build it, or set ui.enabled: false');
  const app = await buildApp({
    log,
    clients,
    accessLog: config.log.accessLog,
    registry: {
      uploads: core.uploads,
      artifacts: core.artifacts,
      auth,
      signatures: config.registry.signatureExtension ? core.trust.simpleSignatures : undefined,
      options: {
        maxManifestBytes: config.registry.maxManifestBytes,
        redirectTtlSeconds: config.storage.driver.kind === 's3' && config.storage.driver.redirect.enabled ? config.storage.driver.redirect.ttlSeconds : undefined,
      },
    },
    auth,
    admins,
    urls,
    proxyWarning: ProxyWarning.create(urls, config.trustedProxies, log.child({ mod: 'server.proxy' })),
    basicRealm: config.auth.realm,
    challenge: config.auth.challenge,
    metrics,
    metricsRoute: config.metrics.listen === undefined ? { access: config.metrics.auth } : undefined,
    readiness,
    serverFactory,
    certificates: served,
    privateCa,
    api,
    ui: config.ui.enabled ? { files: uiFiles } : undefined,
  });

  const { host, port } = parseListen(config.listen);
  const clearText = plainHttpWarning(config);
  if (clearText) log.warn(clearText);
  const abandon = async () => {
    scan?.service.close();
    await jobs.close();
    await Promise.allSettled([app.close(), core.close()]);
    identity.close();
    await certificates.stop();
    await shared.close();
  };
  try {
    // Fastify would say "http://" for our own HTTPS server (it made none itself).
    await app.listen({ host, port, listenTextResolver: (address) => `Server listening at ${tlsOn ? address.replace(/^http:/, 'https:') : address}` });
  } catch (err) {
    await abandon();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`${config.listen} is already in use by another program; pick another address with --listen or MINATO_LISTEN`);
    if (code === 'EACCES') throw new Error(`not allowed to listen on ${config.listen} (ports below 1024 need privileges); use a higher port`);
    throw err;
  }
  let metricsListener: MetricsListener | undefined;
  if (metrics && config.metrics.listen !== undefined) {
    const guard = { auth, admins, basicRealm: config.auth.realm, clients };
    metricsListener = await startMetricsListener(config.metrics.listen, metrics, config.metrics.auth, guard, log.child({ mod: 'server.metrics' })).catch(async (err: unknown) => {
      await abandon();
      throw err;
    });
  }
  // The first admin is made only once the server is up: a start that fails (port taken, bad
  // certificate) must not create a user whose password nobody was shown.
  const initialAdminPassword = await users?.bootstrapAdmin();
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `${tlsOn ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;

  certificates.provider?.listening?.();
  if (certificates.provider) writeStatusOnChange(certificates.provider, dataDir);
  if (certificates.provider) metrics?.watchCertificates(certificates.provider);
  if (certificates.provider) certificateEvents(certificates.provider, core.events);

  const background = new AbortController();
  ddns?.run(background.signal).catch((err) => log.error({ err: (err as Error).message }, 'DDNS stopped'));

  await core.start();

  return {
    app,
    url,
    initialAdminPassword,
    users,
    projects,
    access,
    cliTokens,
    quotas,
    scanPolicy: core.scanPolicy,
    async close() {
      background.abort();
      await certificates.stop();
      // Requests in flight get a grace period; then their connections are cut (an upload cut
      // short resumes from what was stored), so a stop never waits for a client that stalls.
      const force = setTimeout(() => {
        log.warn({ graceSeconds: SHUTDOWN_GRACE_MS / 1000 }, 'shutting down: closing connections still busy after the grace period; their uploads can resume');
        app.server.closeAllConnections();
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      await Promise.all([app.close(), metricsListener?.close()]);
      clearTimeout(force);
      scan?.service.close();
      await jobs.close();
      identity.close();
      await core.close();
      await shared.close();
    },
  };
}
