// GET /token: the Docker token endpoint (https://distribution.github.io/distribution/spec/auth/token/).
// Basic credentials (or none, for anonymous pull) in; a signed JWT with the granted scopes out.
// Scopes the client may not have are left out of the token rather than refused, as the spec says.
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { ANONYMOUS, type Principal } from '../auth/policy.js';
import { parseScope, type Access } from '../auth/scope.js';
import type { TokenService } from '../auth/token-service.js';

export function registerTokenRoute(app: FastifyInstance, auth: Authenticator, tokens: TokenService, basicRealm: string): void {
  app.get('/token', async (request, reply) => {
    const q = request.query as Record<string, string | string[] | undefined>;
    const scopes = ([] as string[]).concat(q.scope ?? []).flatMap((s) => s.split(' '));
    const requested = scopes.map(parseScope).filter((a): a is Access => a !== undefined);

    let principal: Principal = ANONYMOUS;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const [scheme, value] = [header.slice(0, header.indexOf(' ')).toLowerCase(), header.slice(header.indexOf(' ') + 1)];
      const found = scheme === 'basic' ? await auth.basicPrincipal(value) : undefined;
      if (!found) {
        reply.code(401).header('WWW-Authenticate', `Basic realm="${basicRealm}"`).header('Content-Type', 'application/json');
        return JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
      }
      principal = found;
    }
    const access = auth.grantsFor(principal, requested);
    const { token, expiresIn, issuedAt } = await tokens.issue(principal.user ?? '', access);
    reply.header('Content-Type', 'application/json').header('Cache-Control', 'no-store');
    return JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
  });
}
