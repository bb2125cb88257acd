// The OpenAPI 3.0 document of the management API, built from the route definitions themselves
// (the zod schemas that validate requests, the response schemas handlers are typed by, the access
// rules), so it cannot drift from what the server does. Served at /api/v2.0/openapi.json and at
// /api/v2.0/swagger.json, where Harbor users look for it.
//
// Named models (api/models.ts) become components/schemas and are referenced; everything else is
// inlined. Request schemas are converted as their input (defaults make fields optional), responses
// as their output.
import { z } from 'zod';
import { describeRule } from './access.js';
import { CSRF_HEADER, SESSION_COOKIE } from './caller.js';
import type { ErrorStatus } from './errors.js';
import { apiModels, ErrorsModel } from './models.js';
import { API_BASE, type ApiRoute, type HeaderSpec, type ResponseSpec } from './route.js';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: Json;
  servers: Json[];
  tags: Json[];
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json>; headers: Record<string, Json>; securitySchemes: Record<string, Json> };
}

/** The shared error responses, by status: components/responses/<name>. */
const ERROR_NAMES: Record<ErrorStatus, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'UnprocessableEntity',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'Bad request: the message names the parameter or field and what is wrong with it.',
  401: 'Not signed in, or the credentials are wrong.',
  403: 'Signed in, but not allowed (or a session request without its CSRF token).',
  404: 'Not found.',
  405: 'Not supported here.',
  409: 'Conflicts with the current state (a name that is taken...).',
  412: 'Not possible for this caller or configuration.',
  413: 'The request body is too large.',
  415: 'The request body is not JSON (or not one of the types this operation takes).',
  422: 'Understood, but not acceptable.',
  429: 'Too many failed logins from this client, or done too often; Retry-After says when to try again.',
  500: 'Internal error; the registry log has the details under this X-Request-Id.',
  503: 'The database or the storage is briefly unavailable; nothing was changed. Retry after Retry-After.',
};

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The error statuses an operation can answer: those every operation has, those its shape implies, those it declares. */
export function errorStatuses(route: ApiRoute): ErrorStatus[] {
  const out = new Set<ErrorStatus>([401, 429, 500, 503, ...(route.errors ?? [])]);
  if (route.params || route.query || route.body || route.headers) out.add(400);
  if (route.access.kind !== 'public' || UNSAFE.has(route.method)) out.add(403);
  if (route.access.kind === 'project') out.add(404);
  if (UNSAFE.has(route.method)) out.add(415);
  if (route.body) out.add(413);
  return [...out].sort((a, b) => a - b);
}

const REF_PREFIX = '#/definitions/';
const COMPONENT_PREFIX = '#/components/schemas/';

/** Converts one zod schema; named models it holds go to `components` and are referenced. */
function converter(components: Record<string, Json>) {
  const clean = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(clean);
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === '$schema' || k === '$id') continue;
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX)) out[k] = COMPONENT_PREFIX + v.slice(REF_PREFIX.length);
      else if (k === 'definitions' && v && typeof v === 'object') for (const [id, def] of Object.entries(v as Json)) components[id] = clean(def) as Json;
      else out[k] = clean(v);
    }
    // zod spells date-time out as a long pattern too; the format says it.
    if (out.format === 'date-time') delete out.pattern;
    return out;
  };
  // Ids come from the models' registry, descriptions (.describe()) from zod's global one.
  const describe = ({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: Json }) => {
    const description = z.globalRegistry.get(zodSchema as z.ZodType)?.description;
    if (description && jsonSchema.description === undefined && jsonSchema.$ref === undefined) jsonSchema.description = description;
  };
  return (schema: z.ZodType, io: 'input' | 'output'): Json =>
    clean(z.toJSONSchema(schema, { target: 'openapi-3.0', metadata: apiModels, io, unrepresentable: 'any', reused: 'inline', override: describe })) as Json;
}

/** "/projects/{project_name}" -> ["project_name"]. */
function templateParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}

function isOptional(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

function parameters(route: ApiRoute, convert: ReturnType<typeof converter>): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query' | 'header', object: z.ZodObject<z.ZodRawShape> | undefined) => {
    for (const [name, field] of Object.entries(object?.shape ?? {})) {
      const schema = field as z.ZodType;
      const p: Json = { name, in: where, required: where === 'path' || !isOptional(schema), schema: convert(schema, 'input') };
      if (schema.description) p.description = schema.description;
      out.push(p);
    }
  };
  add('path', route.params);
  add('query', route.query);
  add('header', route.headers);
  const declared = new Set(Object.keys(route.params?.shape ?? {}));
  for (const name of templateParams(route.path)) {
    if (!declared.has(name)) throw new Error(`route ${route.operationId}: the path parameter {${name}} has no schema in params`);
  }
  return out;
}

const REQUEST_ID: Json = { description: 'The request id: the one the client sent in X-Request-Id when it is sane, else a new one (also in the access log).', required: true, schema: { type: 'string' } };

function headers(extra: Record<string, HeaderSpec> | undefined, convert: ReturnType<typeof converter>): Json {
  const out: Json = { 'X-Request-Id': { $ref: '#/components/headers/XRequestId' } };
  for (const [name, h] of Object.entries(extra ?? {})) out[name] = { description: h.description, required: h.required ?? false, schema: convert(h.schema, 'output') };
  return out;
}

function response(spec: ResponseSpec, convert: ReturnType<typeof converter>): Json {
  const out: Json = { description: spec.description, headers: headers(spec.headers, convert) };
  if (spec.schema) out.content = { [spec.contentType ?? 'application/json']: { schema: convert(spec.schema, 'output') } };
  return out;
}

function errorResponse(status: ErrorStatus, errors: Json, convert: ReturnType<typeof converter>): Json {
  const extra: Record<string, HeaderSpec> = {};
  if (status === 401) extra['WWW-Authenticate'] = { description: 'The Basic challenge (absent for requests that came with a session cookie).', schema: z.string() };
  if (status === 429 || status === 503) extra['Retry-After'] = { description: 'Seconds to wait before trying again.', schema: z.string(), required: true };
  return { description: ERROR_DESCRIPTIONS[status], headers: headers(extra, convert), content: { 'application/json': { schema: errors } } };
}

function security(route: ApiRoute): Json[] {
  const session = UNSAFE.has(route.method) && !route.csrfExempt ? { session: [], csrf: [] } : { session: [] };
  const signedIn = [{ basic: [] }, session];
  return route.access.kind === 'public' ? [{}, ...signedIn] : signedIn;
}

/** The document of these routes. Throws when two routes share an operationId or a method and path. */
export function buildOpenApi(routes: readonly ApiRoute[], version: string): OpenApiDocument {
  const components: Record<string, Json> = {};
  const convert = converter(components);
  const errors = convert(ErrorsModel, 'output');
  const paths: OpenApiDocument['paths'] = {};
  const errorResponses: Record<string, Json> = {};
  const ids = new Set<string>();
  for (const route of routes) {
    if (ids.has(route.operationId)) throw new Error(`two routes have the operationId ${route.operationId}`);
    ids.add(route.operationId);
    const item = (paths[route.path] ??= {});
    // Paths are relative to the server URL /api/v2.0; the few outside it (/c/login) say their own.
    if (route.root) item.servers = [{ url: '/' }] as unknown as Json;
    const method = route.method.toLowerCase();
    if (item[method]) throw new Error(`two routes answer ${route.method} ${route.path}`);
    const responses: Json = {};
    for (const [status, spec] of Object.entries(route.responses)) responses[status] = response(spec, convert);
    for (const status of errorStatuses(route)) {
      responses[String(status)] ??= { $ref: `#/components/responses/${ERROR_NAMES[status]}` };
      errorResponses[ERROR_NAMES[status]] ??= errorResponse(status, errors, convert);
    }
    const op: Json = {
      operationId: route.operationId,
      summary: route.summary,
      description: `${route.description ? `${route.description}\n\n` : ''}Access: ${describeRule(route.access)}.`,
      tags: [route.tag],
      parameters: parameters(route, convert),
      responses,
      security: security(route),
      'x-minato-access': { ...route.access, project: undefined },
    };
    if (route.body) {
      op.requestBody = { required: !isOptional(route.body), content: Object.fromEntries((route.bodyTypes ?? ['application/json']).map((t) => [t, { schema: convert(route.body!, 'input') }])) };
    }
    item[method] = op;
  }
  const tags = [...new Set(routes.map((r) => r.tag))].sort().map((name) => ({ name }));
  return {
    openapi: '3.0.3',
    info: {
      title: 'minato management API',
      version,
      description:
        "Harbor's API v2.0 conventions (page/page_size, X-Total-Count and Link, q= and sort=, Harbor's error body, X-Request-Id) for projects, users, robots, quotas and the audit log, and minato's own resources (certificates, the private CA's trust bundles). " +
        'Sign in with Basic credentials of a user or robot, or with a UI session from POST /c/login (state-changing requests then send the X-Harbor-Csrf-Token header).',
    },
    servers: [{ url: API_BASE }],
    tags,
    paths,
    components: {
      schemas: components,
      responses: errorResponses,
      headers: { XRequestId: REQUEST_ID },
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic', description: 'A user, or a robot ("robot$<project>+<name>") with its secret.' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The UI session cookie set by POST /c/login.' },
        csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER, description: 'The CSRF token given at login; state-changing requests made with a session send it.' },
      },
    },
  };
}
