// A small, spec-faithful fake of the Route53 REST XML API (version 2013-04-01) for the calls the
// Route53 DNS provider makes: ListHostedZonesByName, ListResourceRecordSets, ChangeResourceRecordSets
// (CREATE/UPSERT/DELETE with Route53's exact-match rule for DELETE) and GetChange (PENDING, then
// INSYNC). It records every request so tests can assert what was sent. Listens on 127.0.0.1:0.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export interface FakeRoute53Request {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
  authorization?: string;
}

export interface FakeRRset {
  ttl: number;
  values: string[];
}

export interface FakeRoute53 {
  url: string;
  requests: FakeRoute53Request[];
  /** zone id -> "name/TYPE" (name with trailing dot) -> RRset */
  rrsets: Map<string, Map<string, FakeRRset>>;
  /** How many GetChange calls answer PENDING before INSYNC. */
  pendingPolls: number;
  close(): Promise<void>;
}

export async function startFakeRoute53(zones: { id: string; name: string; private?: boolean }[]): Promise<FakeRoute53> {
  const rrsets = new Map<string, Map<string, FakeRRset>>(zones.map((z) => [z.id, new Map()]));
  const changes = new Map<string, number>();
  let nextChange = 1;
  const state: FakeRoute53 = { url: '', requests: [], rrsets, pendingPolls: 1, close: async () => undefined };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const query = Object.fromEntries(u.searchParams);
      state.requests.push({ method: req.method ?? '', path: u.pathname, query, body, authorization: req.headers.authorization });
      const send = (status: number, xml: string): void => {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'fake-request-id' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
      };
      const error = (status: number, code: string, message: string): void =>
        send(status, `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>fake-request-id</RequestId></ErrorResponse>`);
      if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) return error(403, 'MissingAuthenticationToken', 'Missing Authentication Token');
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && u.pathname === '/2013-04-01/hostedzonesbyname') {
        const start = sortKey(query.dnsname ?? '');
        const max = Number(query.maxitems ?? 100);
        const list = [...zones].sort((a, b) => cmp(sortKey(a.name), sortKey(b.name))).filter((z) => cmp(sortKey(z.name), start) >= 0);
        const page = list.slice(0, max);
        return send(
          200,
          `<ListHostedZonesByNameResponse xmlns="${NS}"><HostedZones>${page
            .map(
              (z) =>
                `<HostedZone><Id>/hostedzone/${z.id}</Id><Name>${dot(z.name)}</Name><CallerReference>ref-${z.id}</CallerReference><Config><PrivateZone>${z.private ? 'true' : 'false'}</PrivateZone></Config><ResourceRecordSetCount>${rrsets.get(z.id)!.size}</ResourceRecordSetCount></HostedZone>`,
            )
            .join('')}</HostedZones>${query.dnsname ? `<DNSName>${dot(query.dnsname)}</DNSName>` : ''}<IsTruncated>${list.length > max}</IsTruncated><MaxItems>${max}</MaxItems></ListHostedZonesByNameResponse>`,
        );
      }
      if ((m = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/.exec(u.pathname))) {
        const zone = rrsets.get(m[1]!);
        if (!zone) return error(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${m[1]}`);
        if (req.method === 'GET') {
          const startName = query.name ? dot(query.name) : '';
          const startType = query.type ?? '';
          const max = Number(query.maxitems ?? 300);
          const all = [...zone.entries()]
            .map(([k, v]) => ({ name: k.split('/')[0]!, type: k.split('/')[1]!, ...v }))
            .sort((a, b) => cmp(sortKey(a.name), sortKey(b.name)) || cmp(a.type, b.type))
            .filter((r) => !startName || cmp(sortKey(r.name), sortKey(startName)) > 0 || (r.name === startName && cmp(r.type, startType) >= 0));
          const page = all.slice(0, max);
          return send(
            200,
            `<ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>${page
              .map(
                (r) =>
                  `<ResourceRecordSet><Name>${esc(r.name)}</Name><Type>${r.type}</Type><TTL>${r.ttl}</TTL><ResourceRecords>${r.values
                    .map((v) => `<ResourceRecord><Value>${esc(v)}</Value></ResourceRecord>`)
                    .join('')}</ResourceRecords></ResourceRecordSet>`,
              )
              .join('')}</ResourceRecordSets><IsTruncated>${all.length > max}</IsTruncated><MaxItems>${max}</MaxItems></ListResourceRecordSetsResponse>`,
          );
        }
        if (req.method === 'POST') {
          const parsed = [...body.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((c) => ({
            action: tag(c[1]!, 'Action'),
            name: dot(tag(c[1]!, 'Name')),
            type: tag(c[1]!, 'Type'),
            ttl: Number(tag(c[1]!, 'TTL')),
            values: [...c[1]!.matchAll(/<Value>([\s\S]*?)<\/Value>/g)].map((v) => unesc(v[1]!)),
          }));
          if (parsed.length === 0) return error(400, 'InvalidInput', 'ChangeBatch has no Changes');
          // All-or-nothing, like Route53: validate every change first.
          for (const c of parsed) {
            const existing = zone.get(`${c.name}/${c.type}`);
            if (c.action === 'DELETE' && (!existing || existing.ttl !== c.ttl || existing.values.join('\n') !== c.values.join('\n'))) {
              return error(400, 'InvalidChangeBatch', `[Tried to delete resource record set [name='${c.name}', type='${c.type}'] but ${existing ? 'the values provided do not match the current values' : 'it was not found'}]`);
            }
            if (c.action === 'CREATE' && existing) return error(400, 'InvalidChangeBatch', `[Tried to create resource record set [name='${c.name}', type='${c.type}'] but it already exists]`);
            if (!['CREATE', 'UPSERT', 'DELETE'].includes(c.action)) return error(400, 'InvalidInput', `bad Action ${c.action}`);
            if (c.action !== 'DELETE' && c.values.length === 0) return error(400, 'InvalidInput', 'ResourceRecords must not be empty');
          }
          for (const c of parsed) {
            if (c.action === 'DELETE') zone.delete(`${c.name}/${c.type}`);
            else zone.set(`${c.name}/${c.type}`, { ttl: c.ttl, values: c.values });
          }
          const id = `C${String(nextChange++).padStart(6, '0')}`;
          changes.set(id, 0);
          return send(200, `<ChangeResourceRecordSetsResponse xmlns="${NS}"><ChangeInfo><Id>/change/${id}</Id><Status>PENDING</Status><SubmittedAt>2024-01-01T00:00:00.000Z</SubmittedAt><Comment>${esc(tag(body, 'Comment'))}</Comment></ChangeInfo></ChangeResourceRecordSetsResponse>`);
        }
      }
      if (req.method === 'GET' && (m = /^\/2013-04-01\/change\/([^/]+)$/.exec(u.pathname))) {
        const polls = changes.get(m[1]!);
        if (polls === undefined) return error(404, 'NoSuchChange', `A change with the specified change ID does not exist: ${m[1]}`);
        changes.set(m[1]!, polls + 1);
        const status = polls + 1 > state.pendingPolls ? 'INSYNC' : 'PENDING';
        return send(200, `<GetChangeResponse xmlns="${NS}"><ChangeInfo><Id>/change/${m[1]}</Id><Status>${status}</Status><SubmittedAt>2024-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>`);
      }
      error(404, 'UnknownOperationException', `no route for ${req.method} ${u.pathname}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise((r) => server.close(() => r()));
  return state;
}

function dot(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}
/** Route53 orders names by their labels read right to left. */
function sortKey(name: string): string {
  return dot(name).slice(0, -1).split('.').reverse().join('\u0001');
}
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function tag(xml: string, name: string): string {
  return unesc(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1] ?? '');
}
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
function unesc(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d))).replace(/&amp;/g, '&');
}
