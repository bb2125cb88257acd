// The management API (/api/v2.0, and the UI's /c/login and /c/log_out) as one encapsulated
// Fastify plugin. Per request: the X-Request-Id header; the caller (Basic or session) in one
// hook; then, per route, the CSRF check of session requests, the content type, the access rule
// (401 for a missing sign-in before any input is looked at), the zod validation of path, query
// and body (400 naming the field), the rest of the rule (403/404), and the handler. Every error
// becomes Harbor's body through api/errors.ts; unknown paths under /api/v2.0 get Harbor's 404.
//
// Bodies are JSON only (form-encoded only where a route says so, the login): a page on another
// site can make a browser send a form or text/plain, never JSON without a CORS preflight, so even
// Basic credentials a browser remembers cannot be used to change anything cross-site.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AccessControl } from '../auth/access-control.js';
import { enforce, precheck, type Enforcement } from './access.js';
import { checkCsrf, CSRF_HEADER, identify, type Caller, type CallerDeps } from './caller.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import { documentRoutes } from './document-routes.js';
import { buildOpenApi } from './openapi.js';
import { API_BASE, routeUrl, type ApiContext, type ApiRoute } from './route.js';
import type { SessionStore } from './session-store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who calls the management API (set by its first hook). */
    apiCaller: Caller | null;
  }
}

export interface ManagementApiOptions {
  routes: readonly ApiRoute[];
  caller: CallerDeps & { sessions: SessionStore };
  access: AccessControl;
  /** minato's version (the document's info.version). */
  version: string;
  /** Largest request body, bytes. */
  bodyLimit?: number;
  /** How often expired sessions are deleted; 0: never (tests). */
  sessionPurgeIntervalMs?: number;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const DEFAULT_PURGE_MS = 10 * 60_000;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** "/projects/{project_name}" -> "/projects/:project_name" (Fastify's syntax). */
function fastifyUrl(route: ApiRoute): string {
  return routeUrl(route).replace(/\{([^}]+)\}/g, ':$1');
}

type Where = 'path parameter' | 'query parameter' | 'header' | 'body';

/** "query parameter page_size: must be at most 100" from a zod failure. */
function invalid(where: Where, error: z.ZodError): ApiError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.');
  const subject = where === 'body' ? (field ? `body field ${field}` : 'the request body') : `${where} ${field}`;
  return new ApiError('BAD_REQUEST', `${subject}: ${issue.message}`);
}

/** The request headers a route reads, under the names its schema documents them by. */
function headersOf(schema: z.ZodObject<z.ZodRawShape>, request: FastifyRequest): Record<string, unknown> {
  return Object.fromEntries(Object.keys(schema.shape).map((name) => [name, request.headers[name.toLowerCase()]]));
}

function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

/**
 * Form fields as an object; a field given twice becomes an array (which a string schema refuses).
 * Built from a Map, so a field named "__proto__" is a field like any other.
 */
function parseForm(body: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [k, v] of new URLSearchParams(body)) {
    const seen = fields.get(k);
    fields.set(k, seen === undefined ? v : ([] as string[]).concat(seen, v));
  }
  return Object.fromEntries(fields);
}

export async function managementApi(app: FastifyInstance, opts: ManagementApiOptions): Promise<void> {
  const routes = [...opts.routes, ...documentRoutes(() => document)];
  // Built now, so a route that contradicts itself (a path parameter without a schema, a
  // duplicate operationId) stops the start, not the first reader of the document.
  const document = buildOpenApi(routes, opts.version);

  app.decorateRequest('apiCaller', null);
  app.decorateRequest('principal', null);
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, app.getDefaultJsonParser('error', 'error'));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, parseForm(body as string)));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    const caller = await identify(request, opts.caller);
    request.apiCaller = caller;
    request.principal = caller.principal;
    // Harbor hands the UI its token on every response of a session.
    if (caller.session) reply.header(CSRF_HEADER, caller.session.csrfToken);
  });

  const run = async (route: ApiRoute, request: FastifyRequest, reply: FastifyReply) => {
    const caller = request.apiCaller!;
    if (!route.csrfExempt) checkCsrf(request, caller);
    const allowed = route.bodyTypes ?? ['application/json'];
    const type = mediaType(request);
    if (UNSAFE.has(request.method) && type !== undefined && !allowed.includes(type)) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `this operation takes ${allowed.join(' or ')}, not ${type.slice(0, 100)}`);
    }
    const e: Enforcement = { access: opts.access, basicRealm: opts.caller.basicRealm, session: caller.hadSessionCookie };
    precheck(route.access, caller.principal, e);
    const parse = (schema: z.ZodType | undefined, value: unknown, where: Where) => {
      if (!schema) return undefined;
      const result = schema.safeParse(value);
      if (!result.success) throw invalid(where, result.error);
      return result.data;
    };
    const input = {
      params: parse(route.params, request.params, 'path parameter'),
      query: parse(route.query, request.query, 'query parameter'),
      body: parse(route.body, request.body, 'body'),
      headers: route.headers && parse(route.headers, headersOf(route.headers, request), 'header'),
    };
    await enforce(route.access, caller.principal, input, e);
    const ctx: ApiContext = { caller, request, reply, access: opts.access, address: opts.caller.clientAddress(request), log: request.log };
    const result = await route.handler(input, ctx);
    reply.code(result.status);
    if (result.headers) reply.headers(result.headers);
    const spec = route.responses[result.status];
    if (!spec?.schema || result.body === undefined) return reply.send();
    const contentType = spec.contentType ?? 'application/json';
    reply.type(contentType);
    return reply.send(contentType === 'application/json' ? JSON.stringify(result.body) : result.body);
  };
  for (const route of routes) app.route({ method: route.method, url: fastifyUrl(route), handler: (request, reply) => run(route, request, reply) });

  app.setErrorHandler(async (err, request, reply) => {
    const e = toApiError(err);
    if (e.status === 503) request.log.warn({ err: (err as Error).message }, 'answered 503: a backing service is unavailable; see /readyz and the database or storage logs');
    else if (e.status >= 500) request.log.error({ err }, 'management API request failed');
    reply.code(e.status).headers(e.headers).header('X-Request-Id', request.id).type('application/json');
    return JSON.stringify(errorBody(e));
  });

  // Unknown paths under /api/v2.0 get Harbor's 404 body, not the registry's or Fastify's.
  await app.register(
    async (scope) => {
      scope.setNotFoundHandler(async (request) => {
        throw new ApiError('NOT_FOUND', `no such API endpoint: ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; the operations are listed in ${API_BASE}/openapi.json`);
      });
    },
    { prefix: API_BASE },
  );

  const purgeMs = opts.sessionPurgeIntervalMs ?? DEFAULT_PURGE_MS;
  if (purgeMs > 0) {
    const timer = setInterval(() => {
      opts.caller.sessions.purgeExpired().catch((err: unknown) => app.log.warn({ mod: 'api.sessions', err: (err as Error).message }, 'could not delete expired sessions; will retry'));
    }, purgeMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
}

/**
 * For Fastify's `frameworkErrors` (the app's own option): a path the router cannot take (bad
 * percent-encoding, a parameter over the length limit) answers Harbor's body under the API's
 * paths and Fastify's own elsewhere.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 400;
  if (request.url.startsWith(`${API_BASE}/`) || request.url === API_BASE || request.url.startsWith('/c/')) {
    const e = new ApiError('BAD_REQUEST', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the path is not valid percent-encoding');
    void reply.code(e.status).header('X-Request-Id', request.id).type('application/json').send(JSON.stringify(errorBody(e)));
    return;
  }
  void reply.code(status).type('application/json').send(JSON.stringify({ error: 'Bad Request', code: err.code, message: err.message, statusCode: status }));
}
