// A tiny HTTP client for API tests: undici-free, no connection reuse surprises, full control
// over headers and bodies (fetch would add or drop some the tests care about).
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

/** Asserts an OCI error response: its status and the code of its first error (the body shows on failure). */
export function assertOciError(res: Response, status: number, code: string, context?: string): void {
  const seen = `${context ? `${context}: ` : ''}${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, seen);
  let got: unknown;
  try {
    got = res.json().errors?.[0]?.code;
  } catch {
    got = '(no JSON body)';
  }
  assert.equal(got, code, seen);
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  ca?: string | Buffer;
  servername?: string;
  /** Local address to connect from (127.0.0.2 ... are loopback too, and count as other clients). */
  localAddress?: string;
}

export function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  // The path is sent exactly as given (no URL normalization of "..", which tests need).
  const m = /^(https?:\/\/[^/]+)(\/.*)?$/.exec(url);
  if (!m) throw new Error(`not an absolute URL: ${url}`);
  const u = new URL(m[1]!);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        protocol: u.protocol,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: m[2] ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: false,
        ca: opts.ca,
        servername: opts.servername,
        localAddress: opts.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** A client bound to a registry base URL and an Authorization header. */
export function client(base: string, authorization?: string) {
  return (path: string, opts: RequestOptions = {}) =>
    request(base + path, { ...opts, headers: { ...(authorization ? { Authorization: authorization } : {}), ...opts.headers } });
}
