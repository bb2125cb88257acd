// Composition of the management API: its routes (system, certificates, sessions; the resource
// routes join them here), the session store on the metadata database, and how the caller is
// identified. The API plugin itself knows none of these implementations.
import type { AccessControl } from '../auth/access-control.js';
import type { Principal } from '../auth/policy.js';
import { nativeSummary, VULNERABILITY_REPORT_TYPE } from '../api/scan-models.js';
import { scanRoutes } from '../api/scan-routes.js';
import type { ScanComposition } from './compose-scan.js';
import { ProjectQueries } from '../auth/project-queries.js';
import type { RoleId } from '../auth/rbac.js';
import { projectRoutes } from '../api/project-routes.js';
import { allowlistRoutes } from '../api/allowlist-routes.js';
import { sbomRoutes } from '../api/sbom-routes.js';
import { adapterMetadata, scannerRoutes } from '../api/scanner-routes.js';
import { MIME } from '../scan/adapter/adapter-client.js';
import type { ScannerRegistrations } from '../scan/adapter/registrations.js';
import type { Logger } from 'pino';
import { SbomArtifacts } from '../scan/sbom-artifacts.js';
import { parseDigest } from '../oci/names.js';
import { repositoryRoutes } from '../api/repository-routes.js';
import { artifactAdditionRoutes } from '../api/artifact-addition-routes.js';
import { notFound } from '../util/domain-error.js';
import { ImageDetails } from '../core/image-details.js';
import { Repositories } from '../core/repositories.js';
import { ContentQueries } from '../metadata/content-queries.js';
import { ProjectCatalog } from '../core/project-catalog.js';
import type { Quotas } from '../core/quotas.js';
import { auditRoutes } from '../api/audit-routes.js';
import { quotaRoutes } from '../api/quota-routes.js';
import type { Projects } from '../core/projects.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { CliTokens } from '../auth/cli-tokens.js';
import type { DatabaseUsers } from '../auth/database-users.js';
import { UserDirectory } from '../auth/user-directory.js';
import { RobotAccounts } from '../core/robots.js';
import { Users } from '../core/users.js';
import { robotRoutes } from '../api/robot-routes.js';
import { immutableRuleRoutes } from '../api/immutable-rule-routes.js';
import { trustRoutes } from '../api/trust-routes.js';
import { TrustCases } from '../trust/trust-cases.js';
import { ImmutableRuleCases } from '../core/immutable-rules.js';
import type { Retention } from '../core/retention.js';
import { retentionRoutes } from '../api/retention-routes.js';
import { userRoutes } from '../api/user-routes.js';
import { userProfiles } from '../auth/user-profile.js';
import { certificateRoutes } from '../api/certificate-routes.js';
import { ddnsRoutes } from '../api/ddns-routes.js';
import type { ManagementApiOptions } from '../api/plugin.js';
import { sessionRoutes } from '../api/session-routes.js';
import { DbSessionStore } from '../api/session-store.js';
import { systemRoutes } from '../api/system-routes.js';
import type { Config } from '../config/schema.js';
import type { DdnsStatus } from '../dns/ddns.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { scrubRoutes, type ScrubRunsApi } from '../api/scrub-routes.js';
import type { KeyValueStore } from '../coordination/coordination.js';
import { applySchedule, type GcSchedule } from '../gc/gc-job.js';
import { gcRoutes } from '../api/gc-routes.js';
import type { CertificateProvider } from '../tls/certificate-provider.js';
import type { ManualRenewal } from '../tls/manual-renewal.js';
import { minatoVersion } from '../util/version.js';
import type { ClientAddresses } from './client-address.js';
import type { RegistryCore } from './compose-registry.js';
import type { ExternalUrl } from './external-url.js';

export interface ApiServices {
  core: Pick<RegistryCore, 'db' | 'meta' | 'blobs' | 'events' | 'artifacts' | 'audit' | 'tagRules' | 'trust' | 'scanPolicy' | 'uploads'>;
  quotas: Quotas;
  auth: Authenticator;
  access: AccessControl & { roleOf?(principal: Principal, project: string): RoleId | undefined };
  /** Projects, members and robots (the use cases). */
  projects: Projects;
  /** Whether a user exists, for identity sources outside the database (htpasswd); absent: the users table. */
  userExists?: (name: string) => boolean;
  clients: ClientAddresses;
  urls: ExternalUrl;
  /** Users live in the database (no htpasswd file). */
  usersInDatabase: boolean;
  /** Users (absent with auth.htpasswd), projects and robots, CLI tokens: the use cases of the user and robot endpoints. */
  identity: { users?: DatabaseUsers; projects: Projects; cliTokens: CliTokens };
  readiness: Record<string, () => Promise<void>>;
  certificates?: { provider: CertificateProvider; renewals: ManualRenewal };
  caCertificatePem?: () => string;
  /** The DDNS updater, when ddns is on. */
  ddns?: { status(): DdnsStatus };
  /** Background jobs (gc, retention, scrub): their routes start, stop and report runs. */
  jobs: Scheduler;
  /** The scrub's runs (start, history, findings, stop). */
  scrub?: ScrubRunsApi;
  /** The garbage collection job (its schedule) and the shared store its schedule is kept in. */
  gc: { job: { schedule: GcSchedule }; kv: KeyValueStore };
  /** Tag retention policies and their runs. */
  retention: Retention;
  /** Vulnerability scanning: reports, the scan service, the scan-all schedule. */
  scan: ScanComposition;
  /** Harbor's scanner registrations (the built-in scanner and adapters), shared with the scan service. */
  scannerRegistrations: ScannerRegistrations;
  /** For the scanner adapter clients the API uses (metadata, ping). */
  log: Logger;
}

export function composeManagementApi(config: Config, s: ApiServices): ManagementApiOptions {
  const sessions = new DbSessionStore(s.core.db, {
    idleMs: config.api.sessionTimeoutMinutes * 60_000,
    maxAgeMs: config.api.sessionMaxHours * 3_600_000,
    usersInDatabase: s.usersInDatabase,
    userExists: s.userExists,
    // Its Kysely writes wait for the metadata store's writer, as the other stores' do (compose.ts).
    writes: (fn) => s.core.meta.outsideTransactions(fn),
  });
  const origin = (request: Parameters<ExternalUrl['absolute']>[0]) => s.urls.absolute(request, '');
  const basicRealm = config.auth.realm;
  const projectQueries = new ProjectQueries(s.core.db);
  const catalog = new ProjectCatalog(projectQueries, s.projects, { anonymousPull: config.auth.anonymousPull, isSysAdmin: (p) => s.access.isSysAdmin(p) });
  const repositories = new Repositories(new ContentQueries(s.core.db), s.core.artifacts, catalog);
  const routes = [
    ...sessionRoutes({
      sessions,
      auth: s.auth,
      principalId: async (user) => (await s.core.meta.principal('user', user)).id,
      events: s.core.events,
      secure: (request) => s.urls.absolute(request, '/').startsWith('https:'),
      basicRealm,
    }),
    ...systemRoutes({
      version: minatoVersion(),
      readiness: s.readiness,
      authMode: s.usersInDatabase ? 'db_auth' : 'htpasswd',
      projectCreationRestriction: config.projects.creationRestriction,
      origin,
      storageProvider: config.storage.driver.kind,
      caCertificatePem: s.caCertificatePem,
      served: { certificate: s.certificates !== undefined, ddns: s.ddns !== undefined },
      userProfile: userProfiles(s.core.meta, s.usersInDatabase ? s.core.db : undefined),
    }),
    ...certificateRoutes({ certificates: s.certificates, caCertificatePem: s.caCertificatePem, origin }),
    ...ddnsRoutes(s.ddns),
    ...userRoutes({
      users: new Users({ directory: new UserDirectory(s.core.db, s.usersInDatabase), users: s.identity.users, store: s.identity.projects.store }),
      cliTokens: s.identity.cliTokens,
      actor: (principal, address) => s.identity.projects.actor(principal, address),
      projectName: async (id) => (await s.identity.projects.store.getProject(id))?.name,
    }),
    ...robotRoutes({
      robots: new RobotAccounts(s.identity.projects, s.access),
      actor: (principal, address) => s.identity.projects.actor(principal, address),
      origin,
    }),
    ...projectRoutes({
      projects: s.projects,
      catalog,
      roleOf: (principal, project) => s.access.roleOf?.(principal, project),
      isSysAdmin: (p) => s.access.isSysAdmin(p),
      userExists: async (name) => (s.userExists ? s.userExists(name) : (await s.core.db.selectFrom('users').select('name').where('name', '=', name).executeTakeFirst()) !== undefined),
      allowlists: s.core.scanPolicy.allowlists,
    }),
    ...allowlistRoutes({ allowlists: s.core.scanPolicy.allowlists, actor: (principal, address) => s.projects.actor(principal, address) }),
    ...quotaRoutes({ quotas: s.quotas, projects: s.projects, queries: projectQueries }),
    ...auditRoutes({ audit: s.core.audit, projectId: (name) => s.access.projectId(name) }),
    ...gcRoutes({ jobs: s.jobs, schedule: () => s.gc.job.schedule, setSchedule: (schedule) => applySchedule(s.jobs, s.gc.kv, s.gc.job, schedule) }),
    ...repositoryRoutes({
      repositories,
      actor: (principal, address) => s.projects.actor(principal, address),
      immutable: (repository, tag) => s.core.tagRules.immutable.isImmutable(repository, tag),
      scanOverviews: async (digests) => {
        const reports = await s.scan.reports.reports(digests);
        return new Map([...reports].map(([digest, r]) => [digest, { [VULNERABILITY_REPORT_TYPE]: nativeSummary(r, s.scan.service.percent(digest)) }]));
      },
    }),
    ...scanRoutes({ repositories, service: s.scan.service, reports: s.scan.reports, jobs: s.jobs, schedule: () => s.scan.schedule(), setSchedule: (schedule) => s.scan.setSchedule(schedule) }),
    ...scrubRoutes(s.scrub),
    ...artifactAdditionRoutes({
      details: new ImageDetails({
        repositories,
        openBlob: async (repository, digest) => {
          // Only a blob this repository holds (as /v2 would serve it), never another's by digest.
          if ((await s.core.meta.repositoryBlobSize(repository, digest)) === undefined) throw notFound(`blob ${digest} is not in repository ${repository}`);
          return s.core.blobs.open(digest);
        },
      }),
    }),
    ...immutableRuleRoutes({ rules: new ImmutableRuleCases(s.core.tagRules.store), projects: s.projects }),
    ...retentionRoutes({ retention: s.retention, projects: s.projects }),
    ...trustRoutes({
      trust: new TrustCases({
        ...s.core.trust,
        listReferrers: (repository, subject) => s.core.meta.listReferrers(repository, subject),
        resolveTag: (repository, tag) => s.core.meta.resolveTag(repository, tag),
      }),
      projects: s.projects,
      repositories,
    }),
    ...scannerRoutes({
      registrations: s.scannerRegistrations,
      projects: s.projects,
      builtinMetadata: {
        scanner: { name: 'minato', vendor: 'minato', version: minatoVersion() },
        capabilities: [
          { type: 'vulnerability', consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'], produces_mime_types: [MIME.harborReport] },
          { type: 'sbom', consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'], produces_mime_types: ['application/vnd.security.sbom.report+json; version=1.0'] },
        ],
        properties: { 'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability' },
      },
      adapterMetadata: adapterMetadata(s.log),
    }),
    ...sbomRoutes({
      sboms: new SbomArtifacts({
        inventories: s.core.scanPolicy.scan?.inventories ?? { get: async () => undefined },
        scanNow: s.core.scanPolicy.scan?.scanNow,
        uploads: s.core.uploads,
        artifacts: s.core.artifacts,
        resolve: async (repository, reference) => {
          const digest = /^[a-z0-9]+:/.test(reference) ? reference : await s.core.meta.resolveTag(repository, reference);
          return digest === undefined ? undefined : s.core.meta.getManifest(repository, digest);
        },
        openBlob: async (repository, digest) => {
          if ((await s.core.meta.repositoryBlobSize(repository, digest)) === undefined) throw notFound(`blob ${digest} is not in repository ${repository}`);
          return s.core.blobs.open(parseDigest(digest));
        },
        tool: { name: 'minato', version: minatoVersion() },
        scanTimeoutMs: config.scanGate.scanFirstTimeoutSeconds * 1000,
      }),
      actor: (principal, address) => s.projects.actor(principal, address),
      host: (request) => new URL(s.urls.absolute(request, '/')).host,
    }),
  ];
  return {
    routes,
    caller: { auth: s.auth, sessions, clientAddress: (request) => s.clients.of(request.raw), basicRealm },
    access: s.access,
    version: minatoVersion(),
  };
}
