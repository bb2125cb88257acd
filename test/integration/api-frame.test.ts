// The management API's frame, through routes made for this test on the real plugin (listening
// on 127.0.0.1, with the real Authenticator, database users and session store on SQLite):
// validation with the field named, pagination headers and Link, q= and sort= reaching a handler
// typed, the double-encoded repository parameter, access rules (401 with the challenge, 403,
// 404 for an administrator only), every failure class in Harbor's body, CSRF on session
// requests, X-Request-Id, and the document generated from these very routes. Every response is
// checked against that document (test/helpers/openapi.ts).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { access, fromParam } from '../../src/api/access.js';
import { DomainError } from '../../src/util/domain-error.js';
import { ApiError } from '../../src/api/errors.js';
import { pageOf, pagingQuery } from '../../src/api/paging.js';
import { isResourceNameHeader, projectNameOrIdParam, projectNameParam, projectRef, repositoryNameParam } from '../../src/api/params.js';
import { frameworkErrors, managementApi } from '../../src/api/plugin.js';
import { parseQ, parseSort } from '../../src/api/query.js';
import { defineRoute, listed, listResponse, respond, type ApiRoute } from '../../src/api/route.js';
import { sessionRoutes } from '../../src/api/session-routes.js';
import { DbSessionStore } from '../../src/api/session-store.js';
import type { AccessControl } from '../../src/auth/access-control.js';
import { RegistryPolicy } from '../../src/auth/policy.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import { DatabaseUsers } from '../../src/auth/database-users.js';
import type { Principal } from '../../src/auth/policy.js';
import type { Condition } from '../../src/metadata/list-query.js';
import { MetadataUnavailableError } from '../../src/metadata/metadata-store.js';
import { openSqlite, type Db } from '../../src/metadata/db.js';
import { requestIds } from '../../src/server/request-id.js';
import { request } from '../helpers/http.js';
import { apiClient, assertApiError, assertValidDocument, operations, type ApiClient } from '../helpers/openapi.js';
import { tempDir } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** The small AccessControl of these tests: admin may do anything in projects that exist; alice reads repositories of "team"; "library" is public. */
class TestAccess implements AccessControl {
  private readonly projects = new Map([['library', 1], ['team', 2]]);
  isSysAdmin(p: Principal): boolean {
    return p.user === 'admin';
  }
  canSystem(p: Principal): boolean {
    return this.isSysAdmin(p);
  }
  can(p: Principal, project: string, resource: string, action: string): boolean {
    if (!this.projects.has(project)) return false;
    if (this.isSysAdmin(p)) return true;
    if (project === 'library' && resource === 'repository' && action === 'pull') return true;
    return p.user === 'alice' && project === 'team' && resource === 'repository' && action === 'read';
  }
  projectId(project: string): number | undefined {
    return this.projects.get(project);
  }
}

interface Fruit {
  name: string;
  weight: number;
  picked: number;
  ripe: boolean;
}

const Fruit = z.object({ name: z.string(), weight: z.number().int(), picked: z.iso.datetime(), ripe: z.boolean() });
const FRUIT_FIELDS = { name: 'string', weight: 'int', picked: 'time', ripe: 'bool' } as const;

function matches(c: Condition<string | number | boolean>, v: string | number | boolean): boolean {
  switch (c.op) {
    case 'eq':
      return v === c.value;
    case 'fuzzy':
      return String(v).toLowerCase().includes(c.value.toLowerCase());
    case 'range':
      return (c.min === undefined || v >= c.min) && (c.max === undefined || v <= c.max);
    case 'any':
      return c.values.includes(v);
    case 'all':
      return c.values.every((x) => x === v);
  }
}

function fruitRoutes(fruits: Fruit[]): ApiRoute[] {
  const list = defineRoute({
    method: 'GET',
    path: '/fruits',
    operationId: 'listFruits',
    summary: 'Fruits',
    tag: 'test',
    access: access.signedIn(),
    query: z.object({ ...pagingQuery, q: z.string().optional(), sort: z.string().optional() }),
    responses: { 200: listResponse('A page of fruits.', Fruit) },
    handler: async ({ query }, ctx) => {
      const filter = parseQ(query.q, FRUIT_FIELDS);
      const order = parseSort(query.sort, ['name', 'weight'] as const);
      let rows = fruits.filter((f) => Object.entries(filter).every(([k, c]) => matches(c as Condition<string | number | boolean>, f[k as keyof Fruit])));
      for (const { field, desc } of [...order].reverse()) rows = rows.sort((a, b) => (a[field] < b[field] ? -1 : a[field] > b[field] ? 1 : 0) * (desc ? -1 : 1));
      const page = pageOf(query);
      const items = rows.slice((page.page - 1) * page.pageSize, page.page * page.pageSize).map((f) => ({ ...f, picked: new Date(f.picked).toISOString() }));
      return listed(ctx, items, rows.length, page);
    },
  });
  const add = defineRoute({
    method: 'POST',
    path: '/fruits',
    operationId: 'addFruit',
    summary: 'Add a fruit',
    tag: 'test',
    access: access.signedIn(),
    body: z.object({ name: projectNameParam, weight: z.number().int().positive() }),
    responses: { 201: { description: 'Added.', headers: { Location: { description: 'The new fruit.', schema: z.string(), required: true } } } },
    errors: [409],
    handler: async ({ body }) => {
      if (fruits.some((f) => f.name === body.name)) throw new DomainError('ALREADY_EXISTS', `a fruit named ${body.name} exists`);
      fruits.push({ name: body.name, weight: body.weight, picked: Date.now(), ripe: false });
      return respond(201, undefined, { Location: `/api/v2.0/fruits/${body.name}` });
    },
  });
  const get = defineRoute({
    method: 'GET',
    path: '/fruits/{name}',
    operationId: 'getFruit',
    summary: 'One fruit',
    tag: 'test',
    access: access.signedIn(),
    params: z.object({ name: projectNameParam }),
    responses: { 200: { description: 'The fruit.', schema: Fruit } },
    errors: [404],
    handler: async ({ params }) => {
      const f = fruits.find((x) => x.name === params.name);
      if (!f) throw new ApiError('NOT_FOUND', `no fruit named ${params.name}`);
      return respond(200, { ...f, picked: new Date(f.picked).toISOString() });
    },
  });
  const repository = defineRoute({
    method: 'GET',
    path: '/projects/{project_name}/repositories/{repository_name}',
    operationId: 'getRepositoryName',
    summary: 'Echoes a repository name',
    tag: 'test',
    access: access.project('repository', 'read', fromParam('project_name')),
    params: z.object({ project_name: projectNameParam, repository_name: repositoryNameParam }),
    responses: { 200: { description: 'The full name.', schema: z.object({ name: z.string() }) } },
    handler: async ({ params }) => respond(200, { name: `${params.project_name}/${params.repository_name}` }),
  });
  // Harbor's project_name_or_id: an id unless X-Is-Resource-Name says it is a name; the rule finds the project through it.
  const projectNames = new Map([[1, 'library'], [2, 'team'], [22, '22']]);
  const project = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}',
    operationId: 'getProjectTest',
    summary: 'A project by name or id',
    tag: 'test',
    access: access.project('project', 'read', ({ params, headers }) => {
      const ref = projectRef(params.project_name_or_id, headers['X-Is-Resource-Name']);
      return 'id' in ref ? projectNames.get(ref.id) : ref.name;
    }),
    params: z.object({ project_name_or_id: projectNameOrIdParam }),
    headers: z.object(isResourceNameHeader),
    responses: { 200: { description: 'The project.', schema: z.object({ ref: z.string() }) } },
    handler: async ({ params, headers }) => respond(200, { ref: JSON.stringify(projectRef(params.project_name_or_id, headers['X-Is-Resource-Name'])) }),
  });
  const failing = (path: string, operationId: string, err: () => Error, errors: Array<409 | 503 | 500>) =>
    defineRoute({
      method: 'GET',
      path,
      operationId,
      summary: 'Fails',
      tag: 'test',
      access: access.public(),
      responses: { 200: { description: 'Never.' } },
      errors,
      handler: async () => {
        throw err();
      },
    });
  return [
    list,
    add,
    get,
    repository,
    project,
    defineRoute({
      method: 'GET',
      path: '/users',
      operationId: 'listUsersTest',
      summary: 'Admins only',
      tag: 'test',
      access: access.system('user', 'list'),
      responses: { 200: { description: 'Allowed.', schema: z.object({ ok: z.literal(true) }) } },
      handler: async () => respond(200, { ok: true as const }),
    }),
    failing('/boom', 'boom', () => new Error('a bug with a secret detail'), []),
    failing('/unavailable', 'unavailable', () => new MetadataUnavailableError('the database does not answer'), []),
  ];
}

interface Harness {
  base: string;
  app: FastifyInstance;
  db: Db;
  dir: string;
  fruits: Fruit[];
}

async function startHarness(): Promise<Harness> {
  const dir = await tempDir('minato-api-');
  const db = await openSqlite(path.join(dir, 'minato.db'));
  const users = new DatabaseUsers(db);
  await users.setPassword('admin', 'admin-pw');
  await users.setPassword('alice', 'alice-pw');
  const auth = new Authenticator(users, new CredentialCache(60_000), undefined, new RegistryPolicy(new TestAccess(), { anonymousPull: false, autoCreate: false }), false);
  const sessions = new DbSessionStore(db, { idleMs: 60 * 60_000, maxAgeMs: 12 * 3_600_000, usersInDatabase: true });
  const day = Date.UTC(2026, 0, 1);
  const fruits: Fruit[] = ['apple', 'banana', 'cherry', 'date', 'elderberry', 'fig', 'grape', 'kiwi', 'lemon', 'mango', 'nectarine', 'orange'].map((name, i) => ({
    name,
    weight: 10 * (i + 1),
    picked: day + i * 86_400_000,
    ripe: i % 2 === 0,
  }));
  // The app's own options (server/app.ts) that the API relies on.
  const app = Fastify({ genReqId: requestIds(), routerOptions: { maxParamLength: 1024 }, frameworkErrors });
  const principalId = async (user: string) => (await db.selectFrom('principals').select('id').where('kind', '=', 'user').where('name', '=', user).executeTakeFirstOrThrow()).id;
  await app.register(managementApi, {
    routes: [
      ...sessionRoutes({ sessions, auth, principalId, events: { add: () => undefined }, secure: () => false, basicRealm: 'minato' }),
      ...fruitRoutes(fruits),
    ],
    caller: { auth, sessions, clientAddress: (r) => r.ip, basicRealm: 'minato' },
    access: new TestAccess(),
    version: '0.0.0-test',
    sessionPurgeIntervalMs: 0,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base, app, db, dir, fruits };
}

describe('management API frame', () => {
  let h: Harness;
  let admin: ApiClient;
  let alice: ApiClient;
  let anonymous: ApiClient;
  before(async () => {
    h = await startHarness();
    admin = await apiClient(h.base, { headers: { Authorization: basic('admin', 'admin-pw') } });
    alice = await apiClient(h.base, { headers: { Authorization: basic('alice', 'alice-pw') } });
    anonymous = await apiClient(h.base);
  });
  after(async () => {
    await h.app.close();
    await h.db.destroy();
    await rm(h.dir, { recursive: true, force: true });
  });

  test('the document is OpenAPI 3: every operation has an id, a tag, security and responses with descriptions and schemas, and every $ref resolves', async () => {
    const doc = admin.contract.document;
    assert.equal(doc.openapi, '3.0.3');
    assert.equal(doc.info.version, '0.0.0-test');
    assert.deepEqual(doc.servers, [{ url: '/api/v2.0' }]);
    assertValidDocument(admin.contract);
    const ops = operations(doc);
    assert.ok(ops.length >= 11, `${ops.length} operations`);
    // The rules are in the document too.
    const listUsers = ops.find((o) => o.op.operationId === 'listUsersTest')!;
    assert.match(listUsers.op.description, /system permission user:list/);
    assert.deepEqual(listUsers.op['x-minato-access'], { kind: 'system', resource: 'user', action: 'list' });
  });

  test('swagger.json is the same document', async () => {
    const res = await anonymous('GET', '/api/v2.0/swagger.json');
    assert.deepEqual(res.json(), admin.contract.document);
  });

  test('pagination: X-Total-Count, Link with prev and next keeping q and sort, and page_size over 100 refused in words', async () => {
    const first = await admin('GET', '/api/v2.0/fruits');
    assert.equal(first.headers['x-total-count'], '12');
    assert.equal(first.json().length, 10, 'Harbor\'s default page size');
    assert.equal(first.headers.link, '</api/v2.0/fruits?page=2&page_size=10>; rel="next"');
    const middle = await admin('GET', '/api/v2.0/fruits?q=weight%3D%5B20~110%5D&sort=-weight&page=2&page_size=3');
    assert.equal(middle.headers['x-total-count'], '10');
    assert.deepEqual(middle.json().map((f: Fruit) => f.weight), [80, 70, 60]);
    const links = String(middle.headers.link).split(' , ');
    assert.deepEqual(links, [
      '</api/v2.0/fruits?q=weight%3D%5B20%7E110%5D&sort=-weight&page=1&page_size=3>; rel="prev"',
      '</api/v2.0/fruits?q=weight%3D%5B20%7E110%5D&sort=-weight&page=3&page_size=3>; rel="next"',
    ]);
    // Following the next link gives the next page.
    const next = await admin('GET', links[1]!.slice(1, links[1]!.indexOf('>')));
    assert.deepEqual(next.json().map((f: Fruit) => f.weight), [50, 40, 30]);
    const last = await admin('GET', '/api/v2.0/fruits?page=2&page_size=10');
    assert.equal(last.headers.link, '</api/v2.0/fruits?page=1&page_size=10>; rel="prev"');
    assertApiError(await admin('GET', '/api/v2.0/fruits?page_size=101'), 400, 'BAD_REQUEST');
    const over = await admin('GET', '/api/v2.0/fruits?page_size=101');
    assert.match(over.json().errors[0].message, /^query parameter page_size: page_size must be at most 100/);
    assertApiError(await admin('GET', '/api/v2.0/fruits?page=0'), 400, 'BAD_REQUEST');
    assertApiError(await admin('GET', '/api/v2.0/fruits?page=1&page=2'), 400, 'BAD_REQUEST');
  });

  test('q= and sort= reach the handler typed; unknown keys, bad values and unsortable fields are 400 in words', async () => {
    const fuzzy = await admin('GET', `/api/v2.0/fruits?q=${encodeURIComponent('name=~AN,ripe=true')}&sort=name`);
    assert.deepEqual(fuzzy.json().map((f: Fruit) => f.name), ['banana', 'mango', 'orange'].filter((n) => h.fruits.find((f) => f.name === n)!.ripe));
    const anyOf = await admin('GET', `/api/v2.0/fruits?q=${encodeURIComponent('name={kiwi fig nothing}')}&sort=-name`);
    assert.deepEqual(anyOf.json().map((f: Fruit) => f.name), ['kiwi', 'fig']);
    const since = await admin('GET', `/api/v2.0/fruits?q=${encodeURIComponent('picked=[2026-01-11T00:00:00~]')}`);
    assert.deepEqual(since.json().map((f: Fruit) => f.name), ['orange', 'nectarine'].reverse());
    for (const [q, message] of [
      ['colour=red', /q: unknown key "colour"; this list filters by name, weight, picked, ripe/],
      ['weight=heavy', /q: weight takes an integer, not "heavy"/],
      ['name=a,name=b', /given twice/],
      ['weight=[1~2', /\[min~max\]/],
    ] as const) {
      const res = await admin('GET', `/api/v2.0/fruits?q=${encodeURIComponent(q)}`);
      assertApiError(res, 400, 'BAD_REQUEST', q);
      assert.match(res.json().errors[0].message, message);
    }
    const sort = await admin('GET', '/api/v2.0/fruits?sort=picked');
    assertApiError(sort, 400, 'BAD_REQUEST');
    assert.match(sort.json().errors[0].message, /cannot sort by "picked"; this list sorts by name, weight/);
  });

  test('a repository name double-encoded in the path arrives whole; a malformed one is a 400 naming the parameter', async () => {
    const twice = await admin('GET', '/api/v2.0/projects/team/repositories/tools%252Fbuild%252Fci');
    assert.deepEqual(twice.json(), { name: 'team/tools/build/ci' });
    const once = await admin('GET', '/api/v2.0/projects/team/repositories/tools%2Fbuild');
    assert.deepEqual(once.json(), { name: 'team/tools/build' });
    const bad = await admin('GET', '/api/v2.0/projects/team/repositories/Tools');
    assertApiError(bad, 400, 'BAD_REQUEST');
    assert.match(bad.json().errors[0].message, /^path parameter repository_name: is not a repository name/);
    const long = await admin('GET', `/api/v2.0/projects/team/repositories/${'a'.repeat(300)}`);
    assertApiError(long, 400, 'BAD_REQUEST', 'a name over 255 characters');
    const huge = await admin('GET', `/api/v2.0/projects/team/repositories/${'a'.repeat(2000)}`);
    assertApiError(huge, 400, 'BAD_REQUEST', 'a parameter over the router\'s limit');
    const encoding = await admin('GET', '/api/v2.0/projects/team/repositories/%zz');
    assertApiError(encoding, 400, 'BAD_REQUEST', 'bad percent-encoding');
  });

  test('access: 401 with a Basic challenge before any input is looked at, 403 in words, 404 for an administrator only, public set for anyone', async () => {
    const anon = await anonymous('GET', '/api/v2.0/fruits?page_size=1000');
    assertApiError(anon, 401, 'UNAUTHORIZED', 'anonymous, with bad input: 401 first');
    assert.equal(anon.headers['www-authenticate'], 'Basic realm="minato"');
    const wrong = await request(`${h.base}/api/v2.0/fruits`, { headers: { Authorization: basic('alice', 'nope') } });
    admin.contract.check('GET', '/api/v2.0/fruits', wrong);
    assertApiError(wrong, 401, 'UNAUTHORIZED');
    assert.match(wrong.json().errors[0].message, /invalid username or password/);
    const bearer = await request(`${h.base}/api/v2.0/fruits`, { headers: { Authorization: 'Bearer abc' } });
    admin.contract.check('GET', '/api/v2.0/fruits', bearer);
    assertApiError(bearer, 401, 'UNAUTHORIZED');
    assert.match(bearer.json().errors[0].message, /registry bearer tokens do not open it/);

    const notAdmin = await alice('GET', '/api/v2.0/users');
    assertApiError(notAdmin, 403, 'FORBIDDEN');
    assert.match(notAdmin.json().errors[0].message, /alice may not list user: this takes a system administrator/);
    assert.equal((await admin('GET', '/api/v2.0/users')).status, 200);

    assert.equal((await alice('GET', '/api/v2.0/projects/team/repositories/app')).status, 200);
    assertApiError(await alice('GET', '/api/v2.0/projects/library/repositories/app'), 403, 'FORBIDDEN', 'alice has no read role in library');
    assertApiError(await alice('GET', '/api/v2.0/projects/ghost/repositories/app'), 403, 'FORBIDDEN', 'a missing project is not given away');
    assertApiError(await admin('GET', '/api/v2.0/projects/ghost/repositories/app'), 404, 'NOT_FOUND', 'an admin learns the project is missing');
    assertApiError(await anonymous('GET', '/api/v2.0/projects/team/repositories/app'), 401, 'UNAUTHORIZED');
  });

  test('project_name_or_id with X-Is-Resource-Name: the header is validated, documented, and seen by the access rule', async () => {
    assert.deepEqual((await admin('GET', '/api/v2.0/projects/2')).json(), { ref: '{"id":2}' });
    assert.deepEqual((await admin('GET', '/api/v2.0/projects/team')).json(), { ref: '{"name":"team"}' });
    assertApiError(await admin('GET', '/api/v2.0/projects/22', { headers: { 'X-Is-Resource-Name': 'true' } }), 404, 'NOT_FOUND', 'a project named "22" does not exist');
    assertApiError(await admin('GET', '/api/v2.0/projects/9'), 404, 'NOT_FOUND', 'no project has id 9');
    const bad = await admin('GET', '/api/v2.0/projects/2', { headers: { 'X-Is-Resource-Name': 'yes' } });
    assertApiError(bad, 400, 'BAD_REQUEST');
    assert.match(bad.json().errors[0].message, /^header X-Is-Resource-Name: /);
    const op = admin.contract.operation('GET', '/api/v2.0/projects/2')!.op;
    assert.ok(op.parameters.some((p: { name: string; in: string }) => p.name === 'X-Is-Resource-Name' && p.in === 'header'));
  });

  test('every failure class in Harbor\'s body with its status: 400, 404, 409, 415, 500 (no detail leaked), 503 with Retry-After, unknown paths', async () => {
    const noBody = await admin('POST', '/api/v2.0/fruits', { headers: { 'Content-Type': 'application/json' }, body: '' });
    assertApiError(noBody, 400, 'BAD_REQUEST', 'empty JSON body');
    const badJson = await admin('POST', '/api/v2.0/fruits', { headers: { 'Content-Type': 'application/json' }, body: '{"name":' });
    assertApiError(badJson, 400, 'BAD_REQUEST', 'malformed JSON');
    const proto = await admin('POST', '/api/v2.0/fruits', { headers: { 'Content-Type': 'application/json' }, body: '{"__proto__":{"x":1},"name":"pear","weight":1}' });
    assertApiError(proto, 400, 'BAD_REQUEST', 'prototype poisoning');
    const field = await admin('POST', '/api/v2.0/fruits', { json: { name: 'Pear', weight: 1 } });
    assertApiError(field, 400, 'BAD_REQUEST');
    assert.match(field.json().errors[0].message, /^body field name: is not a project name/);
    const missing = await admin('POST', '/api/v2.0/fruits', { json: { name: 'pear' } });
    assert.match(missing.json().errors[0].message, /^body field weight: /);
    const array = await admin('POST', '/api/v2.0/fruits', { json: [1, 2] });
    assert.match(array.json().errors[0].message, /^the request body: /);
    const form = await admin('POST', '/api/v2.0/fruits', { form: { name: 'pear', weight: '1' } });
    assertApiError(form, 415, 'UNSUPPORTED_MEDIA_TYPE', 'a form where JSON is expected');
    const text = await admin('POST', '/api/v2.0/fruits', { headers: { 'Content-Type': 'text/plain' }, body: 'name=pear' });
    assertApiError(text, 415, 'UNSUPPORTED_MEDIA_TYPE', 'text/plain (what a cross-site form may send)');
    const big = await admin('POST', '/api/v2.0/fruits', { json: { name: 'pear', weight: 1, pad: 'x'.repeat(1_100_000) } });
    assertApiError(big, 413, 'PAYLOAD_TOO_LARGE');

    assert.equal((await admin('POST', '/api/v2.0/fruits', { json: { name: 'pear', weight: 5 } })).headers.location, '/api/v2.0/fruits/pear');
    assertApiError(await admin('POST', '/api/v2.0/fruits', { json: { name: 'pear', weight: 5 } }), 409, 'CONFLICT', 'a domain error with its code');
    assertApiError(await admin('GET', '/api/v2.0/fruits/quince'), 404, 'NOT_FOUND');

    const boom = await anonymous('GET', '/api/v2.0/boom');
    assertApiError(boom, 500, 'INTERNAL_SERVER_ERROR');
    assert.doesNotMatch(boom.text, /secret detail/);
    assert.match(boom.text, /X-Request-Id/);
    const down = await anonymous('GET', '/api/v2.0/unavailable');
    assertApiError(down, 503, 'SERVICE_UNAVAILABLE');
    assert.equal(down.headers['retry-after'], '5');

    const unknown = await anonymous('GET', '/api/v2.0/no/such/thing?x=1');
    assertApiError(unknown, 404, 'NOT_FOUND');
    assert.match(unknown.json().errors[0].message, /no such API endpoint: GET \/api\/v2.0\/no\/such\/thing; the operations are listed in \/api\/v2.0\/openapi.json/);
    assertApiError(await anonymous('DELETE', '/api/v2.0/fruits'), 404, 'NOT_FOUND', 'a method the path does not have');
    assertApiError(await anonymous('GET', '/api/v2.0'), 404, 'NOT_FOUND');
  });

  test('X-Request-Id: a sane one is echoed, anything else replaced by a new one, on successes and errors alike', async () => {
    const echoed = await anonymous('GET', '/api/v2.0/openapi.json', { headers: { 'X-Request-Id': 'trace-abc.123:4' } });
    assert.equal(echoed.headers['x-request-id'], 'trace-abc.123:4');
    const onError = await anonymous('GET', '/api/v2.0/fruits', { headers: { 'X-Request-Id': 'err-1' } });
    assert.equal(onError.status, 401);
    assert.equal(onError.headers['x-request-id'], 'err-1');
    const fresh = /^[0-9a-f]{12}-[0-9a-z]+$/;
    for (const insane of ['has space', 'x'.repeat(129), 'new\\nline', 'é', '']) {
      const res = await anonymous('GET', '/api/v2.0/openapi.json', { headers: { 'X-Request-Id': insane } });
      assert.match(String(res.headers['x-request-id']), fresh, JSON.stringify(insane));
    }
    const a = await anonymous('GET', '/api/v2.0/openapi.json');
    const b = await anonymous('GET', '/api/v2.0/openapi.json');
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  test('a session: its state changes need the CSRF token (refused without or with a wrong one, and nothing changes), its reads do not; Basic needs none', async () => {
    const login = await anonymous('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' } });
    assert.equal(login.status, 200);
    const cookies = (login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
    const csrf = String(login.headers['x-harbor-csrf-token']);
    const withSession = { Cookie: cookies };
    const read = await anonymous('GET', '/api/v2.0/fruits', { headers: withSession });
    assert.equal(read.status, 200);
    assert.equal(read.headers['x-harbor-csrf-token'], csrf, 'the token is on every response of the session');
    const count = async () => Number((await admin('GET', '/api/v2.0/fruits')).headers['x-total-count']);
    const before = await count();
    const none = await anonymous('POST', '/api/v2.0/fruits', { headers: withSession, json: { name: 'plum', weight: 3 } });
    assertApiError(none, 403, 'FORBIDDEN');
    assert.match(none.json().errors[0].message, /CSRF token missing: a POST made with a UI session must send the X-Harbor-Csrf-Token header/);
    const wrong = await anonymous('POST', '/api/v2.0/fruits', { headers: { ...withSession, 'X-Harbor-Csrf-Token': `${csrf.slice(0, -1)}A` }, json: { name: 'plum', weight: 3 } });
    assertApiError(wrong, 403, 'FORBIDDEN');
    assert.match(wrong.json().errors[0].message, /CSRF token incorrect/);
    const invalidToo = await anonymous('POST', '/api/v2.0/fruits', { headers: { ...withSession, 'X-Harbor-Csrf-Token': csrf }, json: { name: 'Plum' } });
    assertApiError(invalidToo, 400, 'BAD_REQUEST', 'with the token, the request is validated as any other');
    assert.equal(await count(), before, 'nothing was added');
    const right = await anonymous('POST', '/api/v2.0/fruits', { headers: { ...withSession, 'X-Harbor-Csrf-Token': csrf }, json: { name: 'plum', weight: 3 } });
    assert.equal(right.status, 201);
    assert.equal(await count(), before + 1);
    assert.equal((await alice('POST', '/api/v2.0/fruits', { json: { name: 'prune', weight: 2 } })).status, 201, 'Basic: no token needed');
  });
});
