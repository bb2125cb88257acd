// The one HTTP client of `minato doctor`: one connection per request (no keep-alive, so the
// process exits when it is done), a deadline on every request, the body hashed as it arrives
// and only its start kept, and the response returned even when the server answers before the
// request body is sent (a proxy's 413 arrives that way).
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export interface HttpTrust {
  /** Verify the certificate chain and host name; with `ca` as the only roots. */
  verify: boolean;
  ca?: string[];
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first 64 KiB of the body as text. */
  text: string;
  /** sha256:<hex> of the whole body, and its length. */
  digest: string;
  length: number;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const KEEP_TEXT = 64 * 1024;

export type HttpClient = (url: string | URL, req?: HttpRequest) => Promise<HttpResponse>;

export function httpClient(trust: HttpTrust): HttpClient {
  return (url, req = {}) => send(new URL(url), req, trust);
}

function send(url: URL, req: HttpRequest, trust: HttpTrust): Promise<HttpResponse> {
  const mod = url.protocol === 'https:' ? https : http;
  const timeoutMs = req.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        fn();
      }
    };
    const r = mod.request(url, {
      method: req.method ?? 'GET',
      headers: { 'User-Agent': 'minato-doctor', ...req.headers, ...(req.body ? { 'Content-Length': String(req.body.length) } : {}) },
      agent: false,
      ...(url.protocol === 'https:' ? { rejectUnauthorized: trust.verify, ...(trust.ca ? { ca: trust.ca } : {}) } : {}),
    });
    const timer = setTimeout(() => {
      r.destroy();
      settle(() => reject(new HttpError(`no answer from ${url.origin} within ${timeoutMs / 1000} s`, 'ETIMEDOUT')));
    }, timeoutMs);
    r.on('response', (res) => {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (keptBytes < KEEP_TEXT) {
          kept.push(chunk.subarray(0, KEEP_TEXT - keptBytes));
          keptBytes += Math.min(chunk.length, KEEP_TEXT - keptBytes);
        }
      });
      const done = () =>
        settle(() => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(kept).toString('utf8'), digest: `sha256:${hash.digest('hex')}`, length });
          r.destroy();
        });
      res.on('end', done);
      // A server that answers early and then closes (nginx's 413) cuts the body short: the status is what counts.
      res.on('error', done);
      res.on('aborted', done);
    });
    r.on('error', (err: NodeJS.ErrnoException) => settle(() => reject(new HttpError(err.message, err.code ?? 'ERR_HTTP'))));
    r.end(req.body);
  });
}

/** One header value (the first when repeated). */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
