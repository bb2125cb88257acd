// The port-80 listener of ACME mode: answers HTTP-01 challenges and sends every other request
// to HTTPS, so plain-HTTP visitors end up on the registry. It serves only tiny requests, so its
// limits are short and fixed: 15 s for the headers, 30 s for a whole request.
import http from 'node:http';
import type { Logger } from 'pino';
import { originForm } from '../registry/routes.js';
import type { Http01Solver } from '../tls/acme/solvers.js';
import { parseListen } from './listen.js';

const PREFIX = '/.well-known/acme-challenge/';

export async function startChallengeListener(listen: string, solver: Http01Solver, httpsPort: number, log: Logger): Promise<http.Server> {
  const server = http.createServer({ headersTimeout: 15_000, requestTimeout: 30_000, connectionsCheckingInterval: 5_000 }, (req, res) => {
    const url = originForm(req.url ?? '/');
    if (req.method === 'GET' && url.startsWith(PREFIX)) {
      const token = url.slice(PREFIX.length);
      solver.respond(token).then(
        (answer) => {
          log.info({ token: token.slice(0, 256), answered: answer !== undefined, remote: req.socket.remoteAddress }, 'HTTP-01 challenge request');
          res.writeHead(answer === undefined ? 404 : 200, { 'Content-Type': 'text/plain' });
          res.end(answer ?? 'unknown challenge token');
        },
        (err: Error) => {
          log.error({ err: err.message }, 'HTTP-01 challenge request: the shared store could not be read; the CA will retry or the order fails');
          res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '5' });
          res.end('challenge store unavailable');
        },
      );
      return;
    }
    const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '');
    res.writeHead(301, { Location: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}` });
    res.end();
  });
  const { host, port } = parseListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EACCES' || err.code === 'EADDRINUSE'
          ? new Error(`cannot listen on ${listen} for HTTP-01 challenges (${err.code}); run with the right to bind port 80, change tls.acme.httpListen, or drop http-01 from tls.acme.challenges`)
          : err,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
