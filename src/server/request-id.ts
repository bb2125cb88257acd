// The id of each request (Fastify's genReqId): the client's X-Request-Id when it is sane (a
// proxy's or a caller's id, so one operation can be followed across systems), else a new one.
// It is in every log line of the request, the access line included, and the management API
// answers with it. New ids are a random prefix per app and a counter: unique across replicas
// and restarts, and about 50 ns where a UUID per request cost 400 (every registry request pays it).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Printable and short: nothing that could forge a log line or fill one. */
const SANE = /^[A-Za-z0-9._:+=\/-]{1,128}$/;

/** A genReqId for one app: its own prefix and counter. */
export function requestIds(): (request: IncomingMessage) => string {
  const prefix = randomBytes(6).toString('hex');
  let count = 0;
  return (request) => {
    const sent = request.headers['x-request-id'];
    return typeof sent === 'string' && SANE.test(sent) ? sent : `${prefix}-${(++count).toString(36)}`;
  };
}
