// The management API's lists at issue 12's scale: 1,000 projects, 10,000 repositories and
// 200,000 tags in the embedded database (SQLite), filled through the database directly (seconds,
// not the hours of pushing them), then every list endpoint timed for a page of 100 at the first
// page and at a deep page, as a system admin and as a developer of 5 projects, over HTTP to an
// in-process registry on 127.0.0.1. Target: p95 < 50 ms.
//
// The shape: project p0000 is big (1,000 repositories, 1,000 members; its repository "big" holds
// 1,000 artifacts, the first with 1,000 tags, the others 19 each); the other 999 projects hold 9
// repositories each of 6 artifacts with 3 tags each. Every manifest references one shared config
// and one shared layer (content does not change list costs; row counts do).
//   npm run bench:api [-- --requests N]
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Sqlite from 'better-sqlite3';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-metadata-store.js';
import { request } from '../test/helpers/http.js';
import { startTestRegistry, tempDir } from '../test/helpers/registry.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' }, warmup: { type: 'string', default: '20' }, keep: { type: 'string' } } });
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);
const PAGE = 100;
const TARGET_P95_MS = 50;
const MEMBER = 'bench-member';
const MEMBER_PASSWORD = 'bench-member-password';

const sha = (s: string | Buffer) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** Fills the database file (schema made by the store's migrations) in one transaction. */
function fill(file: string): { projects: number; repositories: number; manifests: number; tags: number; members: number } {
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  const now = Date.now();
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.from('one layer shared by every image');
  const counts = { projects: 0, repositories: 0, manifests: 0, tags: 0, members: 0 };
  const q = {
    project: db.prepare('insert into projects (name, owner_id, public, metadata, storage_limit, created_at, updated_at) values (?, null, 0, \'{"public":"false"}\', -1, ?, ?)'),
    principal: db.prepare("insert into principals (kind, name, created_at) values ('user', ?, ?) on conflict do nothing"),
    principalId: db.prepare("select id from principals where kind = 'user' and name = ?").pluck(),
    member: db.prepare('insert into project_members (project_id, principal_id, role_id, created_at, updated_at) values (?, ?, ?, ?, ?)'),
    repository: db.prepare('insert into repositories (name, created_at) values (?, ?)'),
    blob: db.prepare('insert into blobs (digest, size, created_at) values (?, ?, ?) on conflict do nothing'),
    link: db.prepare('insert into repository_blobs (repository_id, digest, created_at) values (?, ?, ?)'),
    manifest: db.prepare("insert into manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at) values (?, ?, 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json', null, null, ?, ?, ?)"),
    reference: db.prepare('insert into manifest_references (repository_id, manifest_digest, child_digest) values (?, ?, ?)'),
    tag: db.prepare('insert into tags (repository_id, name, digest, updated_at) values (?, ?, ?, ?)'),
    pulls: db.prepare('insert into artifact_pulls (repository_id, digest, pull_count, pull_time) values (?, ?, ?, ?)'),
  };
  const configDigest = sha(config);
  const layerDigest = sha(layer);
  db.transaction(() => {
    q.blob.run(configDigest, config.length, now);
    q.blob.run(layerDigest, layer.length, now);
    q.principal.run(MEMBER, now);
    const memberId = Number(q.principalId.get(MEMBER));
    const repository = (name: string, artifacts: number, tagsOf: (i: number) => number, t: number) => {
      const id = Number(q.repository.run(name, t).lastInsertRowid);
      counts.repositories++;
      q.link.run(id, configDigest, t);
      q.link.run(id, layerDigest, t);
      for (let a = 0; a < artifacts; a++) {
        const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }], annotations: { seed: `${name}#${a}` } }));
        const digest = sha(content);
        q.manifest.run(id, digest, content.length, content, t + a);
        q.reference.run(id, digest, configDigest);
        q.reference.run(id, digest, layerDigest);
        counts.manifests++;
        if (a % 3 === 0) q.pulls.run(id, digest, a + 1, t + a);
        for (let k = 0; k < tagsOf(a); k++) {
          q.tag.run(id, `v${a}.${k}`, digest, t + a);
          counts.tags++;
        }
      }
    };
    for (let p = 0; p < 1000; p++) {
      const name = `p${String(p).padStart(4, '0')}`;
      const t = now - (1000 - p) * 60_000;
      const projectId = Number(q.project.run(name, t, t).lastInsertRowid);
      counts.projects++;
      if (p < 5) {
        q.member.run(projectId, memberId, 2, t, t);
        counts.members++;
      }
      if (p === 0) {
        for (let m = 0; m < 999; m++) {
          q.principal.run(`user${String(m).padStart(4, '0')}`, t);
          q.member.run(projectId, Number(q.principalId.get(`user${String(m).padStart(4, '0')}`)), 3, t, t);
          counts.members++;
        }
        repository(`${name}/big`, 1000, (a) => (a === 0 ? 1000 : 19), t);
        for (let r = 1; r < 1000; r++) repository(`${name}/team/app${String(r).padStart(4, '0')}`, 1, () => 1, t + r);
      } else {
        for (let r = 0; r < 9; r++) repository(`${name}/app${r}`, 6, () => 3, t + r);
      }
    }
  })();
  db.close();
  return counts;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  // --keep DIR: fill DIR once and reuse it on later runs (to compare changes on the same data).
  const dir = values.keep ?? (await tempDir('minato-bench-api-'));
  const file = path.join(dir, 'minato.db');
  if (!values.keep || !existsSync(file)) {
    await mkdir(dir, { recursive: true });
    await (await SqliteMetadataStore.open(file)).close();
    const t0 = performance.now();
    const counts = fill(file);
    process.stdout.write(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}\n`);
  }
  const reg = await startTestRegistry({ data: dir, projects: { autoCreate: false } });
  await reg.users!.setPassword(MEMBER, MEMBER_PASSWORD);
  const member = `Basic ${Buffer.from(`${MEMBER}:${MEMBER_PASSWORD}`).toString('base64')}`;
  const big = `/api/v2.0/projects/p0000/repositories/big/artifacts`;
  const first = (await request(`${reg.url}${big}?sort=push_time&page_size=1`, { headers: { Authorization: reg.basic } })).json() as Array<{ digest: string }>;
  const tagged = first[0]!.digest;
  // [what, path of the first page, path of a deep page]
  const cases: Array<[string, string, string]> = [
    ['projects', '/api/v2.0/projects', '/api/v2.0/projects?page=10'],
    ['repositories (all)', '/api/v2.0/repositories', '/api/v2.0/repositories?page=100'],
    ['repositories of p0000', '/api/v2.0/projects/p0000/repositories', '/api/v2.0/projects/p0000/repositories?page=10'],
    ['artifacts of p0000/big, with tags', big, `${big}?page=10`],
    ['tags of an artifact', `${big}/${tagged}/tags`, `${big}/${tagged}/tags?page=10`],
    ['members of p0000', '/api/v2.0/projects/p0000/members', '/api/v2.0/projects/p0000/members?page=10'],
  ];
  const rows: Array<{ case: string; who: string; page: string; items: number; total: number; p50: number; p95: number; max: number }> = [];
  try {
    for (const [name, firstPath, deepPath] of cases) {
      for (const [who, authorization] of [['admin', reg.basic], ['member', member]] as const) {
        for (const [page, target] of [['first', firstPath], ['deep', deepPath]] as const) {
          const url = `${reg.url}${target}${target.includes('?') ? '&' : '?'}page_size=${PAGE}`;
          const times: number[] = [];
          let items = 0;
          let total = 0;
          for (let i = 0; i < WARMUP + REQUESTS; i++) {
            const start = performance.now();
            const res = await request(url, { headers: { Authorization: authorization } });
            const ms = performance.now() - start;
            if (res.status !== 200) throw new Error(`${who} GET ${target}: ${res.status} ${res.text.slice(0, 200)}`);
            if (i >= WARMUP) times.push(ms);
            items = (res.json() as unknown[]).length;
            total = Number(res.headers['x-total-count']);
          }
          times.sort((a, b) => a - b);
          rows.push({ case: name, who, page, items, total, p50: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1]! });
        }
      }
    }
  } finally {
    await reg.close();
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |\n`;
  process.stdout.write(`\n${REQUESTS} sequential requests per row after ${WARMUP} warm-up, page_size ${PAGE}; target p95 < ${TARGET_P95_MS} ms\n\n`);
  process.stdout.write(line(['list', 'caller', 'page', 'items / total', 'p50 ms', 'p95 ms', 'max ms', 'target']));
  process.stdout.write(line(['---', '---', '---', '---:', '---:', '---:', '---:', '---']));
  for (const r of rows) {
    process.stdout.write(line([r.case, r.who, r.page, `${r.items} / ${r.total}`, r.p50.toFixed(1), r.p95.toFixed(1), r.max.toFixed(1), r.p95 < TARGET_P95_MS ? 'met' : 'MISSED']));
  }
  if (rows.some((r) => r.p95 >= TARGET_P95_MS)) process.exitCode = 1;
}

await main();
