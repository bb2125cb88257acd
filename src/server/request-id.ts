// The id of each request (Fastify's genReqId): the client's X-Request-Id when it is sane (a
// proxy's or a caller's id, so one operation can be followed across systems), else a new UUID.
// It is in every log line of the request, the access line included, and the management API
// answers with it.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Printable and short: nothing that could forge a log line or fill one. */
const SANE = /^[A-Za-z0-9._:+=\/-]{1,128}$/;

export function requestId(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  return typeof sent === 'string' && SANE.test(sent) ? sent : randomUUID();
}
