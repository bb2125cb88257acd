// Events that come from outside the registry's use cases: logins (from the authenticator) and
// certificates obtained or failing (from the certificate provider). They go to the outbox through
// the batcher, like pulls: none of them is worth a write transaction of its own.
import type { EventBatcher } from '../events/event-batcher.js';
import { eventTime, SYSTEM_ACTOR, type Actor } from '../events/events.js';
import type { CertificateProvider } from '../tls/certificate-provider.js';

export function loginEvents(events: EventBatcher) {
  return (login: { user: string; ok: boolean; reason?: string; address: string }): void => {
    const actor: Actor = login.ok ? { kind: 'user', name: login.user, address: login.address } : { kind: 'anonymous', address: login.address };
    events.add({ type: 'auth.login', at: eventTime(), actor, user: login.user, ok: login.ok, reason: login.reason });
  };
}

export function certificateEvents(provider: CertificateProvider, events: EventBatcher): void {
  provider.onChange(() => {
    const status = provider.status();
    events.add({ type: 'cert.obtained', at: eventTime(), actor: SYSTEM_ACTOR, names: status.names, notAfter: status.notAfter ?? '', issuer: status.issuer ?? '' });
  });
  let reported: string | undefined;
  provider.onStatus?.(() => {
    const { lastError, names } = provider.status();
    if (!lastError || lastError.at === reported) return;
    reported = lastError.at;
    events.add({ type: 'cert.failed', at: eventTime(), actor: SYSTEM_ACTOR, names, error: lastError.message });
  });
}
