// One management API operation, declared once: method, Harbor's path, summary, tag, zod schemas
// for its path parameters, query, body and every response, and its access rule. The plugin
// validates requests with these schemas and enforces the rule before the handler runs; the
// OpenAPI document is generated from the same objects (api/openapi.ts), so it cannot drift.
//
//   export const getPing = defineRoute({
//     method: 'GET', path: '/ping', operationId: 'getPing', tag: 'ping', summary: 'Ping the registry',
//     access: access.public(),
//     responses: { 200: { description: 'Pong', schema: z.string(), contentType: 'text/plain' } },
//     handler: async () => respond(200, 'Pong'),
//   });
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessControl } from '../auth/access-control.js';
import type { Page } from '../metadata/list-query.js';
import type { AccessRule } from './access.js';
import type { Caller } from './caller.js';
import type { ErrorStatus } from './errors.js';
import { pageLinks } from './paging.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HeaderSpec {
  description: string;
  schema: z.ZodType;
  required?: boolean;
}

export interface ResponseSpec {
  description: string;
  /** The body; absent: the response has none. */
  schema?: z.ZodType;
  /** Default application/json; a string schema with text/plain or a certificate type is sent as is. */
  contentType?: string;
  headers?: Record<string, HeaderSpec>;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What a handler gets: the validated path parameters, query, body and request headers. */
export interface RouteInput<P, Q, B, H = undefined> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  headers: Out<H>;
}

/** One response a handler may give: a declared status and a body its schema accepts. */
export type RouteResult<R extends Record<number, ResponseSpec>> = {
  [S in keyof R & number]: {
    status: S;
    body: R[S]['schema'] extends z.ZodType ? z.input<R[S]['schema']> : undefined;
    headers?: Record<string, string>;
  };
}[keyof R & number];

/** What the frame hands every handler besides its input. */
export interface ApiContext {
  caller: Caller;
  request: FastifyRequest;
  reply: FastifyReply;
  access: AccessControl;
  /** The client's address (behind trusted proxies, the one they forwarded). */
  address: string;
  log: FastifyBaseLogger;
}

export interface RouteSpec<
  P extends AnyObject | undefined,
  Q extends AnyObject | undefined,
  B extends z.ZodType | undefined,
  R extends Record<number, ResponseSpec>,
  H extends AnyObject | undefined = undefined,
> {
  method: Method;
  /** Harbor's path under /api/v2.0, with {param} placeholders; with `root`, an absolute path ("/c/login"). */
  path: string;
  root?: boolean;
  /** Unique; Harbor's operationId where Harbor has the operation. */
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: AccessRule<RouteInput<P, Q, B, H>>;
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the operation reads, by their names as documented ("X-Is-Resource-Name"). */
  headers?: H;
  /** Content types the body may come in (default: application/json). */
  bodyTypes?: string[];
  /** Skip the CSRF check of session requests (the login itself, which makes a new session). */
  csrfExempt?: boolean;
  responses: R;
  /** Error statuses the handler itself may answer (404 for something it looks up, 409...), beyond those every operation has. */
  errors?: ErrorStatus[];
  handler(input: RouteInput<P, Q, B, H>, ctx: ApiContext): Promise<RouteResult<R>>;
}

/** A route with its types erased: what the plugin and the document builder take. */
export type ApiRoute = RouteSpec<any, any, any, Record<number, ResponseSpec>, any>;

/** Declares a route; the types flow from its schemas into its handler and its responses. */
export function defineRoute<
  P extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends Record<number, ResponseSpec> = Record<number, ResponseSpec>,
  H extends AnyObject | undefined = undefined,
>(spec: RouteSpec<P, Q, B, R, H>): ApiRoute {
  return spec as unknown as ApiRoute;
}

/** The URL the route answers on. */
export function routeUrl(route: Pick<ApiRoute, 'path' | 'root'>): string {
  return route.root ? route.path : `${API_BASE}${route.path}`;
}

export const API_BASE = '/api/v2.0';

/** Header values, as the document types them. */
const integerHeader = z.number().int();
const stringHeader = z.string();

/** A paginated list's response: the items, with X-Total-Count and Link. */
export function listResponse<T extends z.ZodType>(description: string, item: T): ResponseSpec & { schema: z.ZodArray<T> } {
  return {
    description,
    schema: z.array(item),
    headers: {
      'X-Total-Count': { description: 'The number of items in all pages.', schema: integerHeader, required: true },
      Link: { description: 'The previous and next pages (rel="prev", rel="next"), when there are any.', schema: stringHeader },
    },
  };
}

/**
 * A handler's answer: a status its route declares and a body that status's schema accepts (the
 * compiler checks both; a plain object literal would lose the status's literal type).
 */
export function respond<S extends number, B>(status: S, body: B, headers?: Record<string, string>): { status: S; body: B; headers?: Record<string, string> } {
  return headers ? { status, body, headers } : { status, body };
}

/** The 200 of a page of a list: its items, the total and the links to the neighbouring pages. */
export function listed<T>(ctx: Pick<ApiContext, 'request'>, items: T[], total: number, page: Page): { status: 200; body: T[]; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'X-Total-Count': String(total) };
  const link = pageLinks(ctx.request.url, page, total);
  if (link) headers.Link = link;
  return { status: 200, body: items, headers };
}

