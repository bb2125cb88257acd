// A do-nothing registry for measuring the floor of regbench's tags-list scenario on this machine:
// plain node:http, no auth, no storage, tags kept in one sorted array per repository. It answers just what that
// scenario sends (blob HEAD/POST/PUT, manifest PUT, paginated tags/list). Whatever time it needs
// for a paginated listing is the client's and the loopback's, not a registry's.
//   node dist/bench/floor-server.js PORT       (or: npm run bench -- --floor --scenarios tags-list)
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';

const tags = new Map<string, { names: Set<string>; sorted: string[] }>();
const blobs = new Set<string>();

function body(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  const p = url.pathname;
  let m: RegExpExecArray | null;
  if (p === '/v2/') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  if ((m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(p)) && req.method === 'HEAD') {
    return res.writeHead(blobs.has(m[2]!) ? 200 : 404).end();
  }
  if ((m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(p))) {
    await body(req);
    const digest = url.searchParams.get('digest');
    if (digest) {
      blobs.add(digest);
      return res.writeHead(201, { location: `/v2/${m[1]}/blobs/${digest}`, 'docker-content-digest': digest }).end();
    }
    return res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${randomUUID()}`, range: '0-0' }).end();
  }
  if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(p)) && req.method === 'PUT') {
    const digest = `sha256:${createHash('sha256').update(await body(req)).digest('hex')}`;
    const repo = tags.get(m[1]!) ?? { names: new Set<string>(), sorted: [] as string[] };
    if (!repo.names.has(m[2]!)) {
      repo.names.add(m[2]!);
      repo.sorted = []; // sorted again at the next listing: 100,000 puts stay linear
    }
    tags.set(m[1]!, repo);
    return res.writeHead(201, { location: `/v2/${m[1]}/manifests/${digest}`, 'docker-content-digest': digest }).end();
  }
  if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(p))) {
    const repo = tags.get(m[1]!);
    if (repo && repo.sorted.length !== repo.names.size) repo.sorted = [...repo.names].sort();
    const list = repo?.sorted ?? [];
    const n = Number(url.searchParams.get('n') ?? 1000);
    const last = url.searchParams.get('last');
    let start = 0;
    if (last !== null) {
      let end = list.length;
      while (start < end) {
        const mid = (start + end) >>> 1;
        if (list[mid]! <= last) start = mid + 1;
        else end = mid;
      }
    }
    const page = list.slice(start, start + n);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (start + n < list.length) headers.link = `</v2/${m[1]}/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
    return res.writeHead(200, headers).end(JSON.stringify({ name: m[1], tags: page }));
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNSUPPORTED","message":"floor server"}]}');
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`floor server on ${typeof address === 'object' && address ? address.port : '?'}\n`);
});
