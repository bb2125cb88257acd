// The UI's sign-in, as Harbor's: POST /c/login with the form fields `principal` and `password`
// (form-encoded, or JSON) sets the session cookie `sid` (HttpOnly) and hands out the CSRF token
// (X-Harbor-Csrf-Token header and `__csrf` cookie, which the UI reads and sends back in that
// header). GET /c/log_out ends the session. Both cookies are SameSite=Strict, Path=/, and Secure
// when clients reach the registry over TLS (its own, or a TLS-terminating trusted proxy's).
//
// Password checks go through the Authenticator, so the login throttle and the login events (the
// audit log) see every attempt. Robot accounts cannot sign in here: they use Basic credentials.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Authenticator } from '../auth/authenticator.js';
import { eventTime, type RegistryEvent } from '../events/events.js';
import { access, unauthorized } from './access.js';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from './caller.js';
import { setCookie } from './cookies.js';
import { ApiError } from './errors.js';
import { defineRoute, respond, type ApiContext, type ApiRoute } from './route.js';
import type { SessionStore } from './session-store.js';

/** Harbor's robot name prefix (its ROBOT_NAME_PREFIX default). */
export const ROBOT_PREFIX = 'robot$';

export interface SessionRouteDeps {
  sessions: SessionStore;
  auth: Pick<Authenticator, 'interactiveLogin'>;
  /** The stable id of a user (made on first sight), which the session row refers to. */
  principalId(user: string): Promise<number>;
  events: { add(event: RegistryEvent): void };
  /** Whether clients reach this request's origin over HTTPS (the cookies are Secure then). */
  secure(request: FastifyRequest): boolean;
  basicRealm: string;
}

const Login = z.object({
  principal: z.string().min(1, 'is empty').max(255, 'is longer than 255 characters').describe('The user name.'),
  password: z.string().min(1, 'is empty').max(1024, 'is longer than 1024 characters').describe('The password.'),
});

const sessionHeaders = {
  'Set-Cookie': { description: `The session cookie ${SESSION_COOKIE} (HttpOnly) and the CSRF cookie ${CSRF_COOKIE}; SameSite=Strict, Path=/, Secure over TLS.`, schema: z.string(), required: true },
};

export function sessionRoutes(deps: SessionRouteDeps): ApiRoute[] {
  /** Sets both cookies on the reply; `value` undefined clears them. */
  const cookies = (ctx: ApiContext, session: { token: string; csrfToken: string } | undefined) => {
    const secure = deps.secure(ctx.request);
    const clear = session === undefined ? { maxAge: 0 } : {};
    // Responses that set a session are nobody's to keep (shared caches, the browser's history).
    ctx.reply.header('Cache-Control', 'no-store');
    ctx.reply.header('Set-Cookie', [
      setCookie(SESSION_COOKIE, session?.token ?? '', { httpOnly: true, secure, ...clear }),
      setCookie(CSRF_COOKIE, session?.csrfToken ?? '', { httpOnly: false, secure, ...clear }),
    ]);
  };

  const login = defineRoute({
    method: 'POST',
    path: '/c/login',
    root: true,
    operationId: 'login',
    summary: 'Sign in to the UI (a session cookie and a CSRF token)',
    description:
      `Form-encoded (as Harbor's UI sends it) or JSON. Sets the cookies ${SESSION_COOKIE} and ${CSRF_COOKIE} and returns the CSRF token in ${CSRF_HEADER}; ` +
      'a POST, PUT, PATCH or DELETE made with the session must send that header. Robot accounts cannot sign in here. Failed attempts count towards the login throttle.',
    tag: 'auth',
    access: access.public(),
    body: Login,
    bodyTypes: ['application/x-www-form-urlencoded', 'application/json'],
    csrfExempt: true,
    responses: {
      200: {
        description: 'Signed in.',
        headers: { ...sessionHeaders, [CSRF_HEADER]: { description: 'The CSRF token of the new session.', schema: z.string(), required: true } },
      },
    },
    errors: [403],
    handler: async ({ body }, ctx) => {
      // A page on another site must not sign the browser in to an account of its choosing.
      if (ctx.request.headers['sec-fetch-site'] === 'cross-site') throw new ApiError('FORBIDDEN', 'a sign-in from another site is refused: open the registry\'s own page to sign in');
      if (body.principal.startsWith(ROBOT_PREFIX)) {
        throw new ApiError('FORBIDDEN', 'robot accounts cannot sign in to the UI; they use Basic credentials (docker login, skopeo, the API)');
      }
      const result = await deps.auth.interactiveLogin(body.principal, body.password, ctx.address);
      if ('refused' in result) {
        if (result.refused === 'throttled') throw new ApiError('TOO_MANY_REQUESTS', result.message, { 'Retry-After': String(result.retryAfterSeconds) });
        throw unauthorized('invalid username or password', deps.basicRealm, false);
      }
      if (result.robot) throw new ApiError('FORBIDDEN', 'robot accounts cannot sign in to the UI; they use Basic credentials (docker login, skopeo, the API)');
      // A new login gets a new session: whatever session the browser held ends.
      if (ctx.caller.session) await deps.sessions.delete(ctx.caller.session.token);
      const session = await deps.sessions.create(await deps.principalId(result.user!));
      cookies(ctx, session);
      ctx.reply.header(CSRF_HEADER, session.csrfToken);
      return respond(200, undefined);
    },
  });

  const logout = defineRoute({
    method: 'GET',
    path: '/c/log_out',
    root: true,
    operationId: 'logout',
    summary: 'End the UI session',
    description: 'Ends the session the cookie names (if any) and clears both cookies. Answers 200 with or without a session, as Harbor does.',
    tag: 'auth',
    access: access.public(),
    responses: { 200: { description: 'Signed out.', headers: sessionHeaders } },
    handler: async (_input, ctx) => {
      const { session } = ctx.caller;
      if (session && (await deps.sessions.delete(session.token))) {
        deps.events.add({ type: 'auth.logout', at: eventTime(), actor: { kind: 'user', name: session.name, address: ctx.address }, user: session.name });
      }
      cookies(ctx, undefined);
      return respond(200, undefined);
    },
  });

  return [login, logout];
}
