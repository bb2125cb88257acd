// push.*: a probe push to a scratch repository, as clients push. A small blob monolithically
// (POST, then PUT with the body) and a 2 MiB one as a chunk (POST, PATCH, PUT): its body is over
// nginx's default client_max_body_size of 1 MiB, the classic 413. Every Location header must be
// relative or keep the scheme and host the client used; a proxy that makes the registry say
// http:// is the `unknown blob` failure. Both blobs are read back and their digests compared,
// then deleted where the registry allows it.
import { createHash, randomBytes } from 'node:crypto';
import type { Report } from './check.js';
import { header, type HttpClient, type HttpResponse } from './http-client.js';
import { originKey, type Target } from './target.js';

export interface PushContext {
  target: Target;
  http: HttpClient;
  authorization: string;
  repository: string;
}

const CHUNK_BYTES = 2 * 1024 * 1024;
const SMALL_BYTES = 1024;

const T = {
  blob: 'push a small blob',
  chunked: 'push a 2 MiB chunk',
  location: 'Location headers',
  digest: 'blobs read back',
  cleanup: 'probe blobs deleted',
};
type Step = keyof typeof T;
const ID: Record<Step, string> = { blob: 'push.blob', chunked: 'push.chunked', location: 'push.location', digest: 'push.digest', cleanup: 'push.cleanup' };

export function skipPush(report: Report, reason: string, from: Step[] = ['blob', 'chunked', 'location', 'digest', 'cleanup']): void {
  for (const s of from) report.skip(ID[s], T[s], reason);
}

interface Seen {
  step: string;
  value: string;
}

class PushFailed extends Error {}

/** A probe blob: random bytes and their digest. */
interface Blob {
  bytes: Buffer;
  digest: string;
}

function blob(size: number): Blob {
  const bytes = randomBytes(size);
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

export async function checkPush(report: Report, ctx: PushContext): Promise<void> {
  const { target, repository } = ctx;
  const auth = { Authorization: ctx.authorization };
  const locations: Seen[] = [];
  const uploads = new Set<string>(); // upload URLs not yet finished, cancelled at the end
  const pushed: Blob[] = [];

  /** Where the client goes next: the Location resolved against the URL used; a foreign origin is noted and corrected. */
  const next = (res: HttpResponse, step: string): URL => {
    const value = header(res, 'location');
    if (!value) throw new PushFailed(`${step}: ${res.status} without a Location header`);
    locations.push({ step, value });
    const url = new URL(value, target.origin);
    return originKey(url) === originKey(new URL(target.origin)) ? url : new URL(url.pathname + url.search, target.origin);
  };
  const expect = (res: HttpResponse, status: number, step: string) => {
    if (res.status !== status) throw new PushFailed(`${step}: ${res.status} (expected ${status}) ${errorCode(res)}`.trim());
  };
  const start = async (step: string): Promise<URL> => {
    const res = await ctx.http(`${target.origin}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: auth });
    if (res.status === 401 || res.status === 403) throw new MayNotPush(res);
    expect(res, 202, step);
    const url = next(res, step);
    uploads.add(url.href);
    return url;
  };
  const finish = async (upload: URL, b: Blob, body: Buffer | undefined, step: string) => {
    const put = new URL(upload);
    put.searchParams.set('digest', b.digest);
    const res = await ctx.http(put, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/octet-stream' }, body: body ?? Buffer.alloc(0) });
    if (res.status === 413) throw new BodyLimit(res);
    expect(res, 201, step);
    uploads.delete(upload.href);
    pushed.push(b);
    next(res, step);
    const digest = header(res, 'docker-content-digest');
    if (digest && digest !== b.digest) throw new PushFailed(`${step}: the registry says ${digest}, the bytes sent are ${b.digest}`);
  };

  const has = (id: string) => report.checks.some((c) => c.id === id);
  let skipReason = 'the small blob push failed';
  try {
    // 1. A small blob in one PUT (what clients do for config blobs and small layers).
    const small = blob(SMALL_BYTES);
    try {
      await finish(await start('POST (small blob)'), small, small.bytes, 'PUT (small blob)');
      report.pass('push.blob', T.blob, `${SMALL_BYTES} bytes to ${repository}: POST 202, PUT 201`);
    } catch (err) {
      if (err instanceof MayNotPush) {
        report.warn(
          'push.blob',
          T.blob,
          `POST /v2/${repository}/blobs/uploads/: ${err.res.status} ${errorCode(err.res)}`.trim(),
          `these credentials may not push to ${repository}, so the push checks did not run`,
          `use a user who may push, or --repository with a repository this user may push to (or --no-push)`,
        );
        skipReason = `no push access to ${repository}`;
        return;
      }
      if (!(err instanceof PushFailed)) throw err;
      report.fail('push.blob', T.blob, err.message, 'the registry did not accept a small blob', "check the registry's log for this request");
      return;
    }

    // 2. 2 MiB in one PATCH (docker and containerd stream a layer as one PATCH, then PUT).
    const big = blob(CHUNK_BYTES);
    try {
      const upload = await start('POST (2 MiB)');
      const res = await ctx.http(upload, {
        method: 'PATCH',
        headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${CHUNK_BYTES - 1}` },
        body: big.bytes,
        timeoutMs: 60_000,
      });
      if (res.status === 413) throw new BodyLimit(res);
      expect(res, 202, 'PATCH (2 MiB)');
      const range = header(res, 'range');
      if (range && range !== `0-${CHUNK_BYTES - 1}`) throw new PushFailed(`PATCH (2 MiB): the registry holds ${range} after receiving 0-${CHUNK_BYTES - 1}`);
      const after = next(res, 'PATCH (2 MiB)');
      uploads.delete(upload.href);
      uploads.add(after.href);
      await finish(after, big, undefined, 'PUT (2 MiB)');
      report.pass('push.chunked', T.chunked, `${CHUNK_BYTES} bytes in one PATCH: 202${range ? ` (Range ${range})` : ''}, PUT 201`);
    } catch (err) {
      if (err instanceof BodyLimit) {
        report.fail(
          'push.chunked',
          T.chunked,
          `PATCH of ${CHUNK_BYTES} bytes: 413 Request Entity Too Large${err.server ? ` (Server: ${err.server})` : ''}`,
          'a proxy in front of the registry refuses request bodies over its limit: nginx answers 413 above client_max_body_size, 1 MiB by default, so every layer over 1 MiB fails to push',
          'in the nginx server (or location) block of the registry: client_max_body_size 0; (and proxy_request_buffering off; so that layers stream through)',
        );
      } else if (err instanceof PushFailed) {
        report.fail('push.chunked', T.chunked, err.message, 'the registry did not accept a 2 MiB chunked upload', "check the registry's (and the proxy's) log for this request");
      } else throw err;
    }
  } catch (err) {
    // The connection broke, or no answer came in time.
    report.fail(has('push.blob') ? 'push.chunked' : 'push.blob', has('push.blob') ? T.chunked : T.blob, (err as Error).message, 'the registry or a proxy in front of it closed the connection or did not answer', "check the registry's and the proxy's logs");
  } finally {
    if (!has('push.chunked')) report.skip('push.chunked', T.chunked, skipReason);
    if (locations.length > 0) locationVerdict(report, target, locations);
    else report.skip('push.location', T.location, has('push.chunked') ? 'no Location header was seen' : skipReason);
    if (pushed.length === 2) await readBack(report, ctx, pushed).catch((err: Error) => report.fail('push.digest', T.digest, err.message, 'the blobs could not be read back', "check the registry's log"));
    else report.skip('push.digest', T.digest, pushed.length === 0 ? skipReason : 'the probe push did not complete');
    await cleanup(report, ctx, pushed, uploads, skipReason);
  }
}

class MayNotPush extends Error {
  constructor(readonly res: HttpResponse) {
    super('may not push');
  }
}

class BodyLimit extends Error {
  readonly server?: string;
  constructor(res: HttpResponse) {
    super('413');
    this.server = header(res, 'server');
  }
}

function errorCode(res: HttpResponse): string {
  try {
    const code = (JSON.parse(res.text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
    return code ?? '';
  } catch {
    return '';
  }
}

/** push.location over every Location header the probe saw. */
function locationVerdict(report: Report, target: Target, seen: Seen[]): void {
  const origin = new URL(target.origin);
  const bad = seen.filter((s) => /^[a-z][a-z0-9+.-]*:/i.test(s.value) && originKey(new URL(s.value)) !== originKey(origin));
  const relative = seen.filter((s) => s.value.startsWith('/')).length;
  const summary = `${seen.length} Location header(s): ${relative} relative, ${seen.length - relative - bad.length} absolute on ${target.origin}`;
  if (bad.length === 0) {
    report.pass('push.location', T.location, summary);
    return;
  }
  const example = new URL(bad[0]!.value);
  const detail = `${bad[0]!.step}: Location ${example.origin}${example.pathname.slice(0, 60)}... while you use ${target.origin} (doctor went on with ${target.origin})`;
  let cause: string;
  let fix: string;
  if (example.protocol !== origin.protocol) {
    cause =
      `the registry names its upload URLs ${example.protocol}// although clients reach it over ${origin.protocol}//: behind a TLS-terminating proxy it sees plain HTTP and nobody tells it otherwise. ` +
      'Clients follow the Location: nginx answers 400 "The plain HTTP request was sent to HTTPS port", and behind a :80 redirect docker fails with "blob upload unknown" / "unknown blob"';
    fix =
      'in the proxy: proxy_set_header X-Forwarded-Proto $scheme; and proxy_set_header Host $http_host;. Or make the registry send relative or public URLs: ' +
      `Distribution http.relativeurls: true (or http.host: ${target.origin}); minato sends relative URLs unless a trusted proxy says otherwise, or externalUrl: ${target.origin}`;
  } else if (example.hostname.toLowerCase() === origin.hostname.toLowerCase()) {
    cause = `the upload URLs name port ${example.port || 'default'} instead of ${target.port}: the proxy sends the Host header without the port, and clients then upload to the wrong port`;
    fix = 'in the proxy: proxy_set_header Host $http_host; (not $host), or set the public URL (minato externalUrl; Distribution http.host)';
  } else {
    cause = `the upload URLs name ${example.host}, not ${origin.host}: the registry names itself by an address clients do not use`;
    fix = `in the proxy: proxy_set_header Host $http_host;, or set the public URL (minato externalUrl: ${target.origin}; Distribution http.host: ${target.origin})`;
  }
  report.fail('push.location', T.location, detail, cause, fix);
}

/** push.digest: HEAD and GET each pushed blob; the bytes must hash to the digest they were pushed under. */
async function readBack(report: Report, ctx: PushContext, pushed: Blob[]): Promise<void> {
  const problems: string[] = [];
  for (const b of pushed) {
    const url = `${ctx.target.origin}/v2/${ctx.repository}/blobs/${b.digest}`;
    const head = await ctx.http(url, { method: 'HEAD', headers: { Authorization: ctx.authorization } });
    if (head.status !== 200) problems.push(`HEAD ${b.digest.slice(0, 19)}: ${head.status}`);
    else if (Number(header(head, 'content-length')) !== b.bytes.length) problems.push(`HEAD ${b.digest.slice(0, 19)}: Content-Length ${header(head, 'content-length')}, pushed ${b.bytes.length}`);
    let got = await ctx.http(url, { headers: { Authorization: ctx.authorization }, timeoutMs: 60_000 });
    const redirect = header(got, 'location');
    if (got.status >= 300 && got.status < 400 && redirect) {
      // Storage redirects (S3) are followed without the registry's credentials.
      const to = new URL(redirect, ctx.target.origin);
      got = await ctx.http(to, originKey(to) === originKey(new URL(ctx.target.origin)) ? { headers: { Authorization: ctx.authorization } } : {});
    }
    if (got.status !== 200) problems.push(`GET ${b.digest.slice(0, 19)}: ${got.status}`);
    else if (got.digest !== b.digest) problems.push(`GET ${b.digest.slice(0, 19)}: ${got.length} bytes hashing to ${got.digest.slice(0, 19)}...`);
  }
  if (problems.length === 0) report.pass('push.digest', T.digest, `${pushed.length} blobs: HEAD and GET return the bytes pushed (sha256 matches)`);
  else report.fail('push.digest', T.digest, problems.join('; '), 'the registry does not give back what was pushed', "check the registry's storage and log");
}

/** push.cleanup: delete the probe blobs (and cancel unfinished uploads); registries may refuse deletes. */
async function cleanup(report: Report, ctx: PushContext, pushed: Blob[], uploads: Set<string>, skipReason: string): Promise<void> {
  const auth = { Authorization: ctx.authorization };
  for (const u of uploads) await ctx.http(u, { method: 'DELETE', headers: auth }).catch(() => undefined);
  if (pushed.length === 0) {
    report.skip('push.cleanup', T.cleanup, `nothing was pushed (${skipReason})`);
    return;
  }
  const statuses: HttpResponse[] = [];
  for (const b of pushed) {
    const res = await ctx.http(`${ctx.target.origin}/v2/${ctx.repository}/blobs/${b.digest}`, { method: 'DELETE', headers: auth }).catch(() => undefined);
    if (res) statuses.push(res);
  }
  const size = pushed.reduce((n, b) => n + b.bytes.length, 0);
  if (statuses.length === pushed.length && statuses.every((r) => r.status === 202 || r.status === 200)) {
    report.pass('push.cleanup', T.cleanup, `deleted the ${pushed.length} probe blob(s) from ${ctx.repository}`);
    return;
  }
  const refused = statuses.find((r) => r.status === 405 || errorCode(r) === 'UNSUPPORTED');
  const seen = statuses.map((r) => `${r.status}${errorCode(r) ? ` ${errorCode(r)}` : ''}`).join(', ') || 'no answer';
  report.warn(
    'push.cleanup',
    T.cleanup,
    `DELETE of the probe blobs: ${seen}`,
    refused
      ? `the registry does not allow deletes: the ${pushed.length} probe blob(s) (${size} bytes) stay in ${ctx.repository}`
      : `the probe blob(s) (${size} bytes) could not be deleted from ${ctx.repository}`,
    refused ? 'to allow deletes: Distribution storage.delete.enabled: true (then garbage-collect); minato registry.deleteEnabled: true' : 'delete them by hand, or ignore them: nothing refers to them',
  );
}
