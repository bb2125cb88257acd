// Who may call a management endpoint (the certificate API, a protected /metrics): an onRequest
// hook that answers 401 (no or wrong credentials, with a Basic challenge), 429 (the login
// throttle) or 403 (signed in, but not one of auth.admins) before the handler runs, so handlers
// only do their work.
import type { onRequestAsyncHookHandler } from 'fastify';
import type { Admins } from '../auth/admins.js';
import type { Authenticator, Need } from '../auth/authenticator.js';
import type { ClientAddresses } from './client-address.js';

/** "user": any signed-in user (Basic credentials or a bearer token); "admin": one of auth.admins. */
export type Audience = 'user' | 'admin';

export interface GuardOptions {
  auth: Authenticator;
  admins: Admins;
  basicRealm: string;
  clients: ClientAddresses;
}

/** The hook for `audience`; `need` is what the credentials must grant (null: only that they are valid). */
export function signedIn(opts: GuardOptions, audience: Audience, need: Need | null = null): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const decision = await opts.auth.decide(request.headers.authorization, need, opts.clients.of(request.raw));
    if (!decision.ok && decision.status === 403) {
      await reply.code(403).send({ error: decision.message });
      return;
    }
    if (!decision.ok && decision.status === 429) {
      await reply.code(429).header('Retry-After', String(decision.retryAfterSeconds)).send({ error: decision.message });
      return;
    }
    if (!decision.ok || decision.principal.user === null) {
      const error = decision.ok ? 'authentication required: sign in as a registry user' : decision.message;
      await reply.code(401).header('WWW-Authenticate', `Basic realm="${opts.basicRealm}"`).send({ error });
      return;
    }
    if (audience === 'admin' && !opts.admins.has(decision.principal)) {
      const admins = opts.admins.list();
      await reply.code(403).send({
        error: `${decision.principal.user} is not an administrator: only ${admins.length ? admins.join(', ') : 'nobody (auth.admins is empty)'} may do this. Sign in as one, or add the user to auth.admins (MINATO_AUTH_ADMINS)`,
      });
    }
  };
}
