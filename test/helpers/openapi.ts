// The management API's tests talk to it through this: the served OpenAPI document is fetched once
// per registry, and every response is checked against it (its status is documented for the
// operation, the headers the document requires are there and match their schemas, the content
// type and the body match the schema, with ajv). So no endpoint can answer something its document
// does not describe, and the document cannot describe something the endpoint does not do.
import assert from 'node:assert/strict';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { request, type RequestOptions, type Response } from './http.js';

type Json = Record<string, any>;

export interface OpenApiDocument {
  openapi: string;
  info: Json;
  servers: Array<{ url: string }>;
  paths: Record<string, Json>;
  components: Json;
}

/** The document's base path for operations without servers of their own ("/api/v2.0"). */
const API_BASE = '/api/v2.0';
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** OpenAPI 3.0 spells exclusive bounds as booleans (draft-04); ajv wants draft-07's numbers. */
function toDraft7(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toDraft7);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, toDraft7(s)])) : toDraft7(v);
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (out[flag] === true) {
      out[flag] = out[bound];
      delete out[bound];
    } else if (out[flag] === false) delete out[flag];
  }
  if (typeof out.$ref === 'string' && out.$ref.startsWith('#/components/schemas/')) out.$ref = `openapi#/definitions/${out.$ref.slice('#/components/schemas/'.length)}`;
  return out;
}

/** The object a local $ref ("#/components/...") points at; throws when it does not resolve. */
export function resolveRef(doc: OpenApiDocument, ref: string): Json {
  assert.ok(ref.startsWith('#/'), `only local $refs are used: ${ref}`);
  let node: any = doc;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    assert.ok(node !== undefined, `$ref ${ref} does not resolve`);
  }
  return node as Json;
}

function deref(doc: OpenApiDocument, node: Json): Json {
  return typeof node.$ref === 'string' ? resolveRef(doc, node.$ref) : node;
}

export interface ApiContract {
  document: OpenApiDocument;
  /** A JSON Schema validator for a schema of the document (refs into its components resolve). */
  validator(schema: Json): ValidateFunction;
  /** The operation a request targets: its path template, the operation and its path item. */
  operation(method: string, url: string): { template: string; op: Json } | undefined;
  /** Asserts that the response is one the document describes for this request. */
  check(method: string, url: string, res: Response): void;
}

export function contractOf(document: OpenApiDocument): ApiContract {
  const ajv = new Ajv({ strict: true, allErrors: true, strictRequired: false });
  addFormats(ajv);
  // The component schemas under the id "openapi", so "#/components/schemas/X" (rewritten "openapi#/definitions/X") resolves.
  ajv.addSchema({ $id: 'openapi', definitions: toDraft7(document.components.schemas) as Json });
  const compiled = new WeakMap<Json, ValidateFunction>();
  const validator = (schema: Json) => {
    let v = compiled.get(schema);
    if (!v) {
      v = ajv.compile(toDraft7(schema) as Json);
      compiled.set(schema, v);
    }
    return v;
  };

  const templates = Object.keys(document.paths).map((template) => {
    const item = document.paths[template]!;
    const base = item.servers?.[0]?.url === '/' ? '' : API_BASE;
    const pattern = new RegExp(`^${(base + template).replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);
    return { template, item, pattern, params: (template.match(/\{/g) ?? []).length };
  });

  const operation = (method: string, url: string) => {
    const path = url.split('?')[0]!;
    // A static segment wins over a parameter (/users/current before /users/{id}), as in the router.
    const matches = templates.filter((t) => t.pattern.test(path) && t.item[method.toLowerCase()]).sort((a, b) => a.params - b.params);
    const m = matches[0];
    return m ? { template: m.template, op: m.item[method.toLowerCase()] as Json } : undefined;
  };

  const errorsSchema: Json = { $ref: '#/components/schemas/Errors' };

  const check = (method: string, url: string, res: Response) => {
    const seen = `${method} ${url} -> ${res.status} ${res.text.slice(0, 300)}`;
    assert.ok(typeof res.headers['x-request-id'] === 'string' && res.headers['x-request-id'] !== '', `X-Request-Id missing: ${seen}`);
    const found = operation(method, url);
    if (!found) {
      // No such operation: Harbor's 404 body.
      assert.equal(res.status, 404, `no operation in the document for ${method} ${url}, yet: ${seen}`);
      const v = validator(errorsSchema);
      assert.ok(v(JSON.parse(res.text)), `not Harbor's error body: ${seen}`);
      return;
    }
    const spec = found.op.responses[String(res.status)] ?? found.op.responses.default;
    assert.ok(spec, `status ${res.status} is not documented for ${method} ${found.template}: ${seen}`);
    const response = deref(document, spec);
    for (const [name, h] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
      const header = deref(document, h);
      const value = res.headers[name.toLowerCase()];
      if (header.required) assert.ok(value !== undefined, `header ${name} is required by the document: ${seen}`);
      if (value === undefined || name.toLowerCase() === 'set-cookie') continue;
      const schema = header.schema as Json;
      const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : value;
      const v = validator(schema);
      assert.ok(v(typed), `header ${name}: ${JSON.stringify(value)} does not match ${JSON.stringify(schema)}: ${seen}`);
    }
    const content = response.content as Record<string, Json> | undefined;
    // A response to HEAD never has a body (an error's body is documented for the GET it mirrors).
    if (method.toUpperCase() === 'HEAD') {
      assert.equal(res.body.length, 0, `a HEAD response has no body: ${seen}`);
      return;
    }
    if (!content) {
      assert.equal(res.body.length, 0, `the document says ${res.status} has no body: ${seen}`);
      return;
    }
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const media = content[type];
    assert.ok(media, `content type ${type || '(none)'} is not one of ${Object.keys(content).join(', ')}: ${seen}`);
    const body = type === 'application/json' ? (JSON.parse(res.text) as unknown) : res.text;
    const v = validator(media.schema as Json);
    assert.ok(v(body), `body does not match the document's schema: ${ajv.errorsText(v.errors)}: ${seen}`);
  };

  return { document, validator, operation, check };
}

export async function loadContract(base: string, opts: RequestOptions = {}): Promise<ApiContract> {
  const res = await request(`${base}${API_BASE}/openapi.json`, opts);
  assert.equal(res.status, 200, res.text);
  const contract = contractOf(res.json() as OpenApiDocument);
  // The document is an operation too: its own response is checked against itself.
  contract.check('GET', `${API_BASE}/openapi.json`, res);
  return contract;
}

export interface ApiCallOptions extends RequestOptions {
  /** A JSON body (sets Content-Type). */
  json?: unknown;
  /** A form-encoded body (sets Content-Type). */
  form?: Record<string, string>;
}

export type ApiClient = ((method: string, path: string, opts?: ApiCallOptions) => Promise<Response>) & { contract: ApiContract; base: string };

/** A client of one registry's management API; every response is checked against the document. `defaults` apply to every call. */
export async function apiClient(base: string, defaults: RequestOptions = {}): Promise<ApiClient> {
  const contract = await loadContract(base, defaults);
  const call = async (method: string, path: string, opts: ApiCallOptions = {}) => {
    const headers: Record<string, string | number> = { ...defaults.headers, ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] ??= 'application/json';
    } else if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    }
    const res = await request(base + path, { ...defaults, ...opts, method, headers, body });
    contract.check(method, path, res);
    return res;
  };
  return Object.assign(call, { contract, base });
}

/** All the operations of a document, for structural checks. */
export function operations(doc: OpenApiDocument): Array<{ method: string; path: string; op: Json; item: Json }> {
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] as Json, item })));
}

/** Asserts Harbor's error body with this status and code. */
export function assertApiError(res: Response, status: number, code: string, context?: string): void {
  const seen = `${context ? `${context}: ` : ''}${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, seen);
  assert.equal((res.json() as { errors?: Array<{ code: string }> }).errors?.[0]?.code, code, seen);
}

/**
 * The structure an OpenAPI 3.0 document must have for clients and generators: a unique
 * operationId, a summary, one tag and security on every operation; responses with descriptions,
 * X-Request-Id and a schema for every body, Harbor's error body on every error; path parameters
 * that match the template; every $ref resolving; every schema compiling.
 */
export function assertValidDocument(contract: ApiContract): void {
  const doc = contract.document;
  assert.equal(doc.openapi, '3.0.3');
  assert.ok(doc.info.title && doc.info.version, 'info.title and info.version');
  assert.deepEqual(doc.servers, [{ url: API_BASE }]);
  const ids = new Set<string>();
  for (const { method, path, op } of operations(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.ok(op.operationId && !ids.has(op.operationId), `${where}: a unique operationId`);
    ids.add(op.operationId);
    assert.ok(op.summary && op.tags?.length === 1 && Array.isArray(op.security) && op.security.length > 0, `${where}: summary, tag, security`);
    const statuses = Object.keys(op.responses);
    assert.ok(statuses.some((s) => s.startsWith('2')), `${where}: a success response`);
    for (const status of statuses) {
      const r = deref(doc, op.responses[status]);
      assert.ok(r.description, `${where} ${status}: a description`);
      assert.ok(r.headers?.['X-Request-Id'], `${where} ${status}: X-Request-Id documented`);
      for (const media of Object.values((r.content ?? {}) as Record<string, { schema?: unknown }>)) assert.ok(media.schema, `${where} ${status}: a schema`);
      if (!status.startsWith('2')) assert.deepEqual(r.content?.['application/json']?.schema, { $ref: '#/components/schemas/Errors' }, `${where} ${status}: Harbor's error body`);
    }
    const params = (op.parameters ?? []) as Array<{ name: string; in: string; schema: Json }>;
    const declared = params.filter((x) => x.in === 'path').map((x) => x.name).sort();
    assert.deepEqual(declared, [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort(), `${where}: path parameters match the template`);
    for (const param of params) contract.validator(param.schema);
    for (const media of Object.values((op.requestBody?.content ?? {}) as Record<string, { schema: Json }>)) contract.validator(media.schema);
  }
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') resolveRef(doc, v as string);
      else walk(v);
    }
  };
  walk(doc);
  for (const schema of Object.values(doc.components.schemas as Record<string, Json>)) contract.validator(schema);
}
