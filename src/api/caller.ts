// Who calls the management API: Basic credentials of a user or robot (through the Authenticator:
// its cache, its login throttle), else a UI session cookie, else nobody. A state-changing request
// made with a session must also carry the session's CSRF token; Basic requests need none (a
// browser cannot be made to send them cross-site with a JSON body: see plugin.ts on content types).
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { parseAuthorization, type Authenticator } from '../auth/authenticator.js';
import { ANONYMOUS, type Principal } from '../auth/policy.js';
import { unauthorized } from './access.js';
import { readCookie } from './cookies.js';
import { ApiError } from './errors.js';
import type { Session, SessionStore } from './session-store.js';

/** The session cookie (Harbor's name) and the CSRF cookie and header. */
export const SESSION_COOKIE = 'sid';
export const CSRF_COOKIE = '__csrf';
export const CSRF_HEADER = 'X-Harbor-Csrf-Token';

export interface Caller {
  principal: Principal;
  via: 'basic' | 'session' | 'anonymous';
  /** With `via` session: the session and its cookie value (logout ends it). */
  session?: Session & { token: string };
  /** The request came with a session cookie, live or not (its 401s carry no Basic challenge). */
  hadSessionCookie: boolean;
}

export interface CallerDeps {
  auth: Pick<Authenticator, 'decide'>;
  sessions: SessionStore;
  /** The client's address (behind trusted proxies, the one they forwarded), for the login throttle. */
  clientAddress(request: FastifyRequest): string;
  basicRealm: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The caller of a request; throws the 401, 403 or 429 it gets when its credentials are not accepted. */
export async function identify(request: FastifyRequest, deps: CallerDeps): Promise<Caller> {
  const sid = readCookie(request.headers.cookie, SESSION_COOKIE);
  const hadSessionCookie = sid !== undefined;
  const authorization = request.headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    if (parseAuthorization(authorization).scheme !== 'basic') {
      throw unauthorized('the management API takes Basic credentials (a user or a robot) or a UI session; registry bearer tokens do not open it', deps.basicRealm);
    }
    const decision = await deps.auth.decide(authorization, null, deps.clientAddress(request));
    if (decision.ok) return { principal: decision.principal, via: 'basic', hadSessionCookie };
    if (decision.status === 429) throw new ApiError('TOO_MANY_REQUESTS', decision.message, { 'Retry-After': String(decision.retryAfterSeconds) });
    throw unauthorized('invalid username or password', deps.basicRealm);
  }
  if (sid === undefined) return { principal: ANONYMOUS, via: 'anonymous', hadSessionCookie };
  const session = await deps.sessions.find(sid);
  // An expired or unknown session is no session: the request goes on as anonymous (and gets a
  // 401 where it needs more), as Harbor does.
  if (!session) return { principal: ANONYMOUS, via: 'anonymous', hadSessionCookie };
  return { principal: { user: session.name }, via: 'session', session: { ...session, token: sid }, hadSessionCookie };
}

/**
 * A state-changing request made with a session must carry the session's CSRF token (a page on
 * another site can make the browser send the cookie, not read the token). Throws 403.
 */
export function checkCsrf(request: FastifyRequest, caller: Caller): void {
  if (caller.via !== 'session' || SAFE_METHODS.has(request.method)) return;
  const sent = request.headers[CSRF_HEADER.toLowerCase()];
  if (typeof sent !== 'string' || !sameToken(sent, caller.session!.csrfToken)) {
    throw new ApiError(
      'FORBIDDEN',
      `CSRF token ${typeof sent === 'string' ? 'incorrect' : 'missing'}: a ${request.method} made with a UI session must send the ${CSRF_HEADER} header it was given at login (also in the ${CSRF_COOKIE} cookie); nothing was changed`,
    );
  }
}
