// Serves the web UI at / from the files the build made (ui-files.ts): hashed assets cached for a
// year, index.html revalidated on every load (so a new release is picked up at once), both
// pre-compressed, and every response with a Content-Security-Policy that lets the page load and
// talk to nothing but this origin (no inline script: Vite emits none, and an injected one would
// not run). index.html answers the UI's own client-side routes only (CLIENT_ROUTES), never a
// path another part of the registry owns (/v2/, /api/, /c/, /token, /metrics, /healthz, /ca...).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { chooseEncoding, type UiFile, type UiFiles } from './ui-files.js';

/** The UI's client-side routes (ui/src/router.ts): each answers index.html, and the page draws itself. */
export const CLIENT_ROUTES = ['/', '/login', '/account', '/projects', '/projects/*', '/system', '/system/*'] as const;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT =
  'The web UI is not built in this installation (dist/ui/index.html is missing).\n\n' +
  'Build it from the sources in ui/ with `npm run build` (TypeScript and the UI; it takes a few seconds), then restart minato.\n' +
  'To run without the UI, set ui.enabled: false (MINATO_UI_ENABLED=false); the registry (/v2/) and the management API (/api/v2.0) work either way.\n';

function securityHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'same-origin');
  reply.header('X-Frame-Options', 'DENY');
}

function send(request: FastifyRequest, reply: FastifyReply, file: UiFile) {
  securityHeaders(reply);
  const encoding = chooseEncoding(request.headers['accept-encoding'], file);
  const etag = encoding ? `${file.etag.slice(0, -1)}-${encoding}"` : file.etag;
  reply.header('Content-Type', file.contentType);
  reply.header('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('Vary', 'Accept-Encoding');
  reply.header('ETag', etag);
  const match = request.headers['if-none-match'];
  if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return reply.code(304).send();
  const body = encoding ? file[encoding]! : file.body;
  if (encoding) reply.header('Content-Encoding', encoding);
  reply.header('Content-Length', body.length);
  return reply.send(request.method === 'HEAD' ? undefined : body);
}

/** `files` undefined: the UI is enabled but not built, and its pages say how to build it. */
export function registerWebUi(app: FastifyInstance, files: UiFiles | undefined): void {
  const index = files?.get('index.html');
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!index) {
      securityHeaders(reply);
      return reply.code(503).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send(NOT_BUILT);
    }
    return send(request, reply, index);
  };
  for (const url of CLIENT_ROUTES) app.route({ method: ['GET', 'HEAD'], url, handler: page });
  if (!files) return;

  app.route({
    method: ['GET', 'HEAD'],
    url: '/assets/*',
    handler: async (request, reply) => {
      const file = files.get(`assets/${(request.params as { '*': string })['*']}`);
      if (!file) {
        securityHeaders(reply);
        return reply.code(404).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send('no such UI asset (a page from an older release? reload it)\n');
      }
      return send(request, reply, file);
    },
  });
  // Files at the top level besides index.html (favicon.svg, from ui/public), each at its own path.
  for (const [name, file] of files) {
    if (name === 'index.html' || name.includes('/')) continue;
    app.route({ method: ['GET', 'HEAD'], url: `/${name}`, handler: async (request, reply) => send(request, reply, file) });
  }
}
