// Harbor's system endpoints that mean something here: ping, health (the checks of /readyz),
// systeminfo (Harbor's GeneralInfo; anonymous callers get its public part, as Harbor does),
// systeminfo/getcert (the private CA's certificate) and users/current.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserProfile } from '../auth/user-profile.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { model, timestamp } from './models.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

export interface SystemDeps {
  version: string;
  /** The checks /readyz runs (each throws when its service does not answer). */
  readiness: Record<string, () => Promise<void>>;
  /** db_auth: users in the database; htpasswd: from an htpasswd file. */
  authMode: 'db_auth' | 'htpasswd';
  /** Who may create projects (projects.creationRestriction). */
  projectCreationRestriction: 'everyone' | 'adminonly';
  /** The origin clients reach the registry at ("https://registry.example.com"). */
  origin(request: FastifyRequest): string;
  storageProvider: string;
  /** tls.mode "ca": the CA certificate clients must trust (PEM). */
  caCertificatePem?: () => string;
  /** What GET /certificate and GET /ddns describe, so the UI asks only for what exists. */
  served?: { certificate: boolean; ddns: boolean };
  /** The signed-in user's id and profile. */
  userProfile(name: string): Promise<UserProfile>;
}

const GeneralInfo = model(
  'GeneralInfo',
  z.object({
    auth_mode: z.enum(['db_auth', 'htpasswd']).describe('db_auth: users live in the registry database; htpasswd: in an htpasswd file.'),
    self_registration: z.boolean().describe('Whether anyone may create an account (never: an administrator creates users).'),
    harbor_version: z.string().describe("minato's version (Harbor's field name)."),
    current_time: timestamp.optional().describe("The registry's clock."),
    has_ca_root: z.boolean().optional().describe('Whether the registry runs its own CA (tls.mode ca); GET /systeminfo/getcert then serves its certificate.'),
    project_creation_restriction: z.enum(['everyone', 'adminonly']).optional().describe('Who may create projects (projects.creationRestriction): everyone signed in, or system administrators only.'),
    registry_url: z.string().optional().describe('host[:port] to use in image names ("registry.example.com/library/app").'),
    external_url: z.string().optional().describe('The URL clients reach the registry at.'),
    read_only: z.boolean().optional(),
    notification_enable: z.boolean().optional().describe('Whether webhooks are available (not yet).'),
    with_notary: z.boolean().optional(),
    with_chartmuseum: z.boolean().optional(),
    registry_storage_provider_name: z.string().optional().describe('Where blobs are kept: filesystem or s3.'),
    with_certificate: z.boolean().optional().describe('minato: whether the registry serves a certificate of its own (GET /certificate describes it; false on plain HTTP).'),
    with_ddns: z.boolean().optional().describe('minato: whether DDNS keeps this host\'s records (GET /ddns describes them).'),
  }).describe("Harbor's GeneralInfo; signed-in callers see every field, anonymous ones auth_mode, self_registration and harbor_version."),
);

const ComponentHealthStatus = model(
  'ComponentHealthStatus',
  z.object({
    name: z.string().describe('metadata (the database) or storage (the blob store).'),
    status: z.enum(['healthy', 'unhealthy']),
    error: z.string().optional().describe('Why the component does not answer.'),
  }),
);

const OverallHealthStatus = model(
  'OverallHealthStatus',
  z.object({ status: z.enum(['healthy', 'unhealthy']), components: z.array(ComponentHealthStatus) }).describe('The checks of /readyz, in Harbor\'s form.'),
);

export const UserResp = model(
  'UserResp',
  z.object({
    user_id: z.number().int(),
    username: z.string(),
    email: z.string(),
    realname: z.string(),
    comment: z.string(),
    sysadmin_flag: z.boolean(),
    admin_role_in_auth: z.boolean().describe('Administrator through the identity source (a group) rather than the flag: never here.'),
    creation_time: timestamp,
    update_time: timestamp,
  }),
);

const iso = (ms: number) => new Date(ms).toISOString();

export function systemRoutes(deps: SystemDeps): ApiRoute[] {
  const ping = defineRoute({
    method: 'GET',
    path: '/ping',
    operationId: 'getPing',
    summary: 'Ping the registry',
    tag: 'ping',
    access: access.public(),
    responses: { 200: { description: 'The registry answers.', schema: z.literal('Pong'), contentType: 'text/plain' } },
    handler: async () => respond(200, 'Pong' as const),
  });

  const health = defineRoute({
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    summary: "The health of the registry's components",
    description: 'The checks of /readyz (the database, the storage). Always 200, as Harbor: the body says whether all is well; load balancers use /readyz.',
    tag: 'health',
    access: access.public(),
    responses: { 200: { description: 'The status of each component.', schema: OverallHealthStatus } },
    handler: async () => {
      const components = await Promise.all(
        Object.entries(deps.readiness).map(async ([name, check]) => {
          try {
            await check();
            return { name, status: 'healthy' as const };
          } catch (err) {
            return { name, status: 'unhealthy' as const, error: (err as Error).message };
          }
        }),
      );
      return respond(200, { status: components.every((c) => c.status === 'healthy') ? ('healthy' as const) : ('unhealthy' as const), components });
    },
  });

  const systemInfo = defineRoute({
    method: 'GET',
    path: '/systeminfo',
    operationId: 'getSystemInfo',
    summary: 'General information about the registry',
    tag: 'systeminfo',
    access: access.public(),
    responses: { 200: { description: 'What this registry is and how it is set up.', schema: GeneralInfo } },
    handler: async (_input, ctx) => {
      const general = { auth_mode: deps.authMode, self_registration: false, harbor_version: deps.version };
      if (ctx.caller.principal.user === null) return respond(200, general);
      const origin = deps.origin(ctx.request);
      return respond(200, {
        ...general,
        current_time: new Date().toISOString(),
        has_ca_root: deps.caCertificatePem !== undefined,
        project_creation_restriction: deps.projectCreationRestriction,
        registry_url: new URL(origin).host,
        external_url: origin,
        read_only: false,
        notification_enable: false,
        with_notary: false,
        with_chartmuseum: false,
        registry_storage_provider_name: deps.storageProvider,
        with_certificate: deps.served?.certificate ?? false,
        with_ddns: deps.served?.ddns ?? false,
      });
    },
  });

  const getCert = defineRoute({
    method: 'GET',
    path: '/systeminfo/getcert',
    operationId: 'getCert',
    summary: "The private CA's certificate",
    description: 'With tls.mode ca, the certificate clients must trust (PEM), as a download; 404 otherwise. Also at /ca.crt, with the per-client installers at /ca/trust/<format>.',
    tag: 'systeminfo',
    access: access.public(),
    responses: {
      200: {
        description: 'The CA certificate (PEM).',
        schema: z.string(),
        contentType: 'application/octet-stream',
        headers: { 'Content-Disposition': { description: 'attachment; filename=ca.crt', schema: z.string(), required: true } },
      },
    },
    errors: [404],
    handler: async () => {
      if (!deps.caCertificatePem) throw new ApiError('NOT_FOUND', 'this registry runs no CA of its own (tls.mode is not "ca"): its certificate comes from files or an ACME CA that clients already trust');
      return respond(200, deps.caCertificatePem(), { 'Content-Disposition': 'attachment; filename=ca.crt' });
    },
  });

  const currentUser = defineRoute({
    method: 'GET',
    path: '/users/current',
    operationId: 'getCurrentUserInfo',
    summary: 'The signed-in user',
    description: 'Robots have no user profile: they get 412, as in Harbor.',
    tag: 'user',
    access: access.signedIn(),
    responses: { 200: { description: 'The signed-in user.', schema: UserResp } },
    errors: [412],
    handler: async (_input, ctx) => {
      const { principal } = ctx.caller;
      if (principal.robot) throw new ApiError('PRECONDITION', `${principal.user} is a robot account: robots have no user profile (get current user not available for robots)`);
      const name = principal.user!;
      const p = await deps.userProfile(name);
      return respond(200, {
        user_id: p.id,
        username: name,
        email: p.email ?? '',
        realname: p.realname ?? '',
        comment: p.comment ?? '',
        sysadmin_flag: ctx.access.isSysAdmin(principal),
        admin_role_in_auth: false,
        creation_time: iso(p.createdAt),
        update_time: iso(p.updatedAt || p.createdAt),
      });
    },
  });

  return [ping, health, systemInfo, getCert, currentUser];
}
