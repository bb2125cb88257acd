// A small fake of the Cloudflare API v4 for the calls the Cloudflare DNS provider makes:
// GET /zones?name=, GET/POST /zones/:id/dns_records, DELETE /zones/:id/dns_records/:rid, with
// v4 envelopes {success, errors, messages, result, result_info} and Bearer token checks.
// Records every request. Listens on 127.0.0.1:0.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCfRecord {
  id: string;
  zone_id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
}

export interface FakeCloudflare {
  url: string;
  requests: { method: string; path: string; query: Record<string, string>; body?: unknown; authorization?: string }[];
  records: FakeCfRecord[];
  /** page size the fake uses when the client does not ask (and the max it allows). */
  maxPerPage: number;
  close(): Promise<void>;
}

export async function startFakeCloudflare(token: string, zones: { id: string; name: string }[]): Promise<FakeCloudflare> {
  let nextId = 1;
  const state: FakeCloudflare = { url: '', requests: [], records: [], maxPerPage: 100, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const path = u.pathname.replace(/^\/client\/v4/, '');
      const query = Object.fromEntries(u.searchParams);
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      state.requests.push({ method: req.method ?? '', path, query, body, authorization: req.headers.authorization });
      const send = (status: number, payload: object): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: status < 400, errors: [], messages: [], ...payload }));
      };
      const fail = (status: number, code: number, message: string): void => send(status, { success: false, errors: [{ code, message }], result: null });
      if (req.headers.authorization !== `Bearer ${token}`) return fail(403, 9109, 'Invalid access token');
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && path === '/zones') {
        const result = zones.filter((z) => !query.name || z.name === query.name).map((z) => ({ id: z.id, name: z.name, status: 'active' }));
        return send(200, { result, result_info: { page: 1, per_page: 20, count: result.length, total_count: result.length, total_pages: 1 } });
      }
      if ((m = /^\/zones\/([^/]+)\/dns_records(?:\/([^/]+))?$/.exec(path))) {
        const zoneId = m[1]!;
        if (!zones.some((z) => z.id === zoneId)) return fail(404, 7003, 'Could not route to /zones/' + zoneId + '/dns_records, perhaps your object identifier is invalid?');
        if (req.method === 'GET' && !m[2]) {
          const all = state.records.filter((r) => r.zone_id === zoneId && (!query.type || r.type === query.type) && (!query.name || r.name === query.name));
          const perPage = Math.min(Number(query.per_page ?? state.maxPerPage), state.maxPerPage);
          const page = Number(query.page ?? 1);
          const result = all.slice((page - 1) * perPage, page * perPage);
          return send(200, { result, result_info: { page, per_page: perPage, count: result.length, total_count: all.length, total_pages: Math.max(1, Math.ceil(all.length / perPage)) } });
        }
        if (req.method === 'POST' && !m[2]) {
          const b = body as { type?: string; name?: string; content?: string; ttl?: number };
          if (!b?.type || !b.name || b.content === undefined) return fail(400, 9000, 'DNS record type, name and content are required');
          if (b.ttl !== undefined && b.ttl !== 1 && (b.ttl < 60 || b.ttl > 86400)) return fail(400, 9021, 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic');
          if (state.records.some((r) => r.zone_id === zoneId && r.type === b.type && r.name === b.name && r.content === b.content)) return fail(400, 81058, 'An identical record already exists.');
          const rec: FakeCfRecord = { id: `rec${nextId++}`, zone_id: zoneId, type: b.type, name: b.name, content: b.content, ttl: b.ttl ?? 1 };
          state.records.push(rec);
          return send(200, { result: rec });
        }
        if (req.method === 'DELETE' && m[2]) {
          const i = state.records.findIndex((r) => r.zone_id === zoneId && r.id === m![2]);
          if (i < 0) return fail(404, 81044, 'Record does not exist.');
          state.records.splice(i, 1);
          return send(200, { result: { id: m[2] } });
        }
      }
      fail(404, 7000, `No route for that URI: ${req.method} ${path}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
  state.close = () => new Promise((r) => server.close(() => r()));
  return state;
}
