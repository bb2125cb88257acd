// Scanner registrations on the management API, as Harbor has them (system admins only):
// `GET|POST /scanners`, `GET|PUT|DELETE|PATCH /scanners/{registration_id}` (PATCH `{is_default}`
// makes it the default), `GET /scanners/{registration_id}/metadata` (asks the adapter),
// `POST /scanners/ping` (checks an adapter before registering it), and a project's scanner at
// `GET|PUT /projects/{project_name_or_id}/scanner`. The built-in scanner is the registration
// "builtin". The access credential is write-only: responses show "***" when one is set.
import { z } from 'zod';
import type { Projects } from '../core/projects.js';
import { projectRef } from './params.js';
import { ScannerAdapterClient, type AdapterMetadata, type AdapterRegistration } from '../scan/adapter/adapter-client.js';
import { BUILTIN_SCANNER, type RegistrationInput, type ScannerRegistration, type ScannerRegistrations } from '../scan/adapter/registrations.js';
import { invalid } from '../util/domain-error.js';
import { access, type ProjectOf } from './access.js';
import { model, timestamp } from './models.js';
import { isResourceNameHeader, projectNameOrIdParam } from './params.js';
import { API_BASE, defineRoute, respond, type ApiRoute } from './route.js';

const Auth = z.enum(['', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key']).default('');

const ScannerRegistrationModel = model(
  'ScannerRegistration',
  z.object({
    uuid: z.string(),
    name: z.string(),
    description: z.string(),
    url: z.string(),
    disabled: z.boolean(),
    is_default: z.boolean(),
    auth: z.string(),
    access_credential: z.string().describe('"***" when one is set (write-only).'),
    skip_certVerify: z.boolean(),
    use_internal_addr: z.boolean(),
    create_time: timestamp,
    update_time: timestamp,
  }),
);

const ScannerRegistrationReq = model(
  'ScannerRegistrationReq',
  z.object({
    name: z.string().min(1).max(255),
    description: z.string().max(1024).optional(),
    url: z.url({ protocol: /^https?$/ }).describe("The adapter's base URL (http or https)."),
    auth: Auth,
    access_credential: z.string().max(4096).optional().describe('Basic: "user:password"; Bearer: the token; X-ScannerAdapter-API-Key: the key. Omitted on update: kept.'),
    skip_certVerify: z.boolean().optional(),
    use_internal_addr: z.boolean().optional(),
    disabled: z.boolean().optional(),
  }),
);

const ScannerAdapterMetadataModel = model(
  'ScannerAdapterMetadata',
  z.object({
    scanner: z.object({ name: z.string(), vendor: z.string(), version: z.string() }),
    capabilities: z.array(z.object({ type: z.string().optional(), consumes_mime_types: z.array(z.string()), produces_mime_types: z.array(z.string()) })),
    properties: z.record(z.string(), z.string()).optional(),
  }),
);

const idParams = z.object({ registration_id: z.string().min(1).max(64).describe("The registration's uuid (\"builtin\": the built-in scanner).") });
const projectParams = z.object({ project_name_or_id: projectNameOrIdParam });
const headers = z.object(isResourceNameHeader);
type WithProject = { params: { project_name_or_id: string }; headers: { 'X-Is-Resource-Name'?: 'true' | 'false' } };

export interface ScannerRoutesDeps {
  registrations: ScannerRegistrations;
  projects: Projects;
  /** The built-in scanner's metadata (what GET .../builtin/metadata answers). */
  builtinMetadata: AdapterMetadata;
  /** An adapter's metadata (a client without a registry credential: metadata needs none). */
  adapterMetadata(registration: AdapterRegistration): Promise<AdapterMetadata>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function registrationModel(r: ScannerRegistration): z.input<typeof ScannerRegistrationModel> {
  return {
    uuid: r.uuid,
    name: r.name,
    description: r.description,
    url: r.url,
    disabled: r.disabled,
    is_default: r.isDefault,
    auth: r.auth ?? '',
    access_credential: r.accessCredential ? '***' : '',
    skip_certVerify: r.skipCertVerify,
    use_internal_addr: r.useInternalAddr,
    create_time: iso(r.createdAt),
    update_time: iso(r.updatedAt),
  };
}

function input(body: z.output<typeof ScannerRegistrationReq>): RegistrationInput {
  return {
    name: body.name,
    url: body.url,
    description: body.description,
    auth: body.auth,
    accessCredential: body.access_credential,
    skipCertVerify: body.skip_certVerify,
    useInternalAddr: body.use_internal_addr,
    disabled: body.disabled,
  };
}

/** The default client factory: one metadata call, no registry credential. */
export function adapterMetadata(log: ConstructorParameters<typeof ScannerAdapterClient>[0]['log']) {
  return (registration: AdapterRegistration) =>
    new ScannerAdapterClient({ registration, registryUrl: '', credentials: { issue: () => Promise.reject(new Error('metadata only')) }, timeoutMs: 30_000, pollMs: 2000, log }).metadata();
}

export function scannerRoutes(deps: ScannerRoutesDeps): ApiRoute[] {
  const { registrations, projects } = deps;
  const projectOf = async (input: WithProject) => {
    const ref = projectRef(input.params.project_name_or_id, input.headers['X-Is-Resource-Name']);
    return projects.project('id' in ref ? ref.id : ref.name);
  };
  const named: ProjectOf<WithProject> = async (i) => {
    const ref = projectRef(i.params.project_name_or_id, i.headers['X-Is-Resource-Name']);
    return 'name' in ref ? ref.name : (await projects.store.getProject(ref.id))?.name;
  };
  const metadataOf = (r: ScannerRegistration) => (r.uuid === BUILTIN_SCANNER ? Promise.resolve(deps.builtinMetadata) : deps.adapterMetadata(r));

  return [
    defineRoute({
      method: 'GET',
      path: '/scanners',
      operationId: 'listScanners',
      summary: 'Scanner registrations',
      tag: 'scanner',
      access: access.system('scanner', 'list'),
      responses: { 200: { description: 'Every registration, the built-in first.', schema: z.array(ScannerRegistrationModel) } },
      handler: async () => respond(200, (await registrations.list()).map(registrationModel)),
    }),
    defineRoute({
      method: 'POST',
      path: '/scanners',
      operationId: 'createScanner',
      summary: 'Register a scanner adapter',
      tag: 'scanner',
      access: access.system('scanner', 'create'),
      body: ScannerRegistrationReq,
      responses: { 201: { description: 'Registered.', headers: { Location: { description: 'The registration.', schema: z.string(), required: true } } } },
      errors: [409],
      handler: async ({ body }) => {
        const r = await registrations.create(input(body));
        return respond(201, undefined, { Location: `${API_BASE}/scanners/${r.uuid}` });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/scanners/ping',
      operationId: 'pingScanner',
      summary: 'Check that an adapter answers (its metadata)',
      tag: 'scanner',
      access: access.system('scanner', 'create'),
      body: ScannerRegistrationReq.partial({ name: true }),
      responses: { 200: { description: 'The adapter answered its metadata.' } },
      handler: async ({ body }) => {
        try {
          await deps.adapterMetadata({ name: body.name ?? 'ping', url: body.url, auth: body.auth, accessCredential: body.access_credential });
        } catch (err) {
          throw invalid((err as Error).message);
        }
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/scanners/{registration_id}',
      operationId: 'getScanner',
      summary: 'A scanner registration',
      tag: 'scanner',
      access: access.system('scanner', 'read'),
      params: idParams,
      responses: { 200: { description: 'The registration.', schema: ScannerRegistrationModel } },
      errors: [404],
      handler: async ({ params }) => respond(200, registrationModel(await registrations.get(params.registration_id))),
    }),
    defineRoute({
      method: 'PUT',
      path: '/scanners/{registration_id}',
      operationId: 'updateScanner',
      summary: 'Change a scanner registration',
      tag: 'scanner',
      access: access.system('scanner', 'update'),
      params: idParams,
      body: ScannerRegistrationReq,
      responses: { 200: { description: 'Changed.' } },
      errors: [404, 409],
      handler: async ({ params, body }) => {
        await registrations.update(params.registration_id, input(body));
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/scanners/{registration_id}',
      operationId: 'deleteScanner',
      summary: 'Delete a scanner registration',
      description: 'Projects that chose it use the default again.',
      tag: 'scanner',
      access: access.system('scanner', 'delete'),
      params: idParams,
      responses: { 200: { description: 'The deleted registration.', schema: ScannerRegistrationModel } },
      errors: [404],
      handler: async ({ params }) => respond(200, registrationModel(await registrations.delete(params.registration_id))),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/scanners/{registration_id}',
      operationId: 'setScannerAsDefault',
      summary: 'Make a scanner the default',
      tag: 'scanner',
      access: access.system('scanner', 'update'),
      params: idParams,
      body: model('IsDefault', z.object({ is_default: z.literal(true) })),
      responses: { 200: { description: 'It is the default.' } },
      errors: [404],
      handler: async ({ params }) => {
        await registrations.setDefault(params.registration_id);
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/scanners/{registration_id}/metadata',
      operationId: 'getScannerMetadata',
      summary: "A scanner's metadata, from the adapter",
      tag: 'scanner',
      access: access.system('scanner', 'read'),
      params: idParams,
      responses: { 200: { description: 'What the adapter says it is and does.', schema: ScannerAdapterMetadataModel } },
      errors: [404],
      handler: async ({ params }) => {
        const r = await registrations.get(params.registration_id);
        try {
          return respond(200, await metadataOf(r));
        } catch (err) {
          throw invalid((err as Error).message);
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/projects/{project_name_or_id}/scanner',
      operationId: 'getProjectScanner',
      summary: "The project's scanner",
      tag: 'scanner',
      access: access.project<WithProject>('scanner', 'read', named),
      params: projectParams,
      headers,
      responses: { 200: { description: 'The registration it chose, else the default.', schema: ScannerRegistrationModel } },
      errors: [404],
      handler: async (i) => respond(200, registrationModel(await registrations.ofProject((await projectOf(i)).id))),
    }),
    defineRoute({
      method: 'PUT',
      path: '/projects/{project_name_or_id}/scanner',
      operationId: 'setProjectScanner',
      summary: "Choose the project's scanner",
      description: 'Harbor asks for the project scanner:create permission; minato, like Harbor\'s scanner admin pages, lets project admins choose among the registrations.',
      tag: 'scanner',
      access: access.project<WithProject>('scanner', 'create', named),
      params: projectParams,
      headers,
      body: model('ProjectScanner', z.object({ uuid: z.string().min(1).max(64) })),
      responses: { 200: { description: 'Chosen.' } },
      errors: [404],
      handler: async (i) => {
        await registrations.setProject((await projectOf(i)).id, i.body.uuid);
        return respond(200, undefined);
      },
    }),
  ];
}
