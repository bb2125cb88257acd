// Which challenge (WWW-Authenticate) a /v2/ request without valid credentials gets: the setting
// auth.challenge turned into one decision per request. Docker, podman, skopeo and containerd
// accept both schemes; what breaks is a Bearer realm with the wrong scheme or host (behind a
// TLS-terminating proxy that sends no X-Forwarded-Proto, an http:// realm makes the client talk
// plain HTTP to the proxy's TLS port). So "auto" offers Bearer only when the realm is known right.
import type { FastifyRequest } from 'fastify';
import type { Challenge } from '../registry/plugin.js';
import type { ExternalUrl } from './external-url.js';

export type ChallengeMode = 'auto' | 'bearer' | 'basic';

export interface ChallengeOptions {
  mode: ChallengeMode;
  urls: ExternalUrl;
  basicRealm: string;
  /** The token service name when /token is served; undefined: Basic is the only possible challenge. */
  tokenService: string | undefined;
}

/** Decides the challenge of each request; cheap (a header or two), it runs on every 401. */
export function challengeDecider(opts: ChallengeOptions): (request: FastifyRequest) => Challenge {
  const basic: Challenge = { scheme: 'basic', realm: opts.basicRealm };
  const service = opts.tokenService;
  if (service === undefined || opts.mode === 'basic') return () => basic;
  const bearer = (request: FastifyRequest): Challenge => ({ scheme: 'bearer', realm: opts.urls.absolute(request, '/token'), service });
  if (opts.mode === 'bearer') return bearer;
  return (request) => (opts.urls.knowsOrigin(request) ? bearer(request) : basic);
}
