// The signature gate, a decider at the `pull` point (with cache hooks at the write points): a
// manifest of a project whose trust policy is not `off` must carry the valid signatures the
// policy requires (trust/trust-policies.ts), as trust/signature-checks.ts finds and verifies
// them. What happens when it does not depends on the level:
//  - enforce: refused with DENIED (403), the message naming the project's policy and what was
//    found (e.g. "policy of project demo requires a valid signature: 1 signature found, cosign
//    by key 'ci' — wrong key: …");
//  - warn: served, logged and recorded as a `signature.unverified` event (audited);
//  - audit: served and recorded only.
// Warnings and events are written at most once per manifest per interval (a hot unsigned image
// would otherwise write one per pull); events go through the batcher (a pull writes no
// transaction). Blobs are never gated: their manifest was. A cached decision is a sync lookup.
//
// The write-point deciders never refuse: they tell the checks that a signature of a repository
// may have appeared or gone (a manifest with a subject, a cosign tag moved or deleted, a manifest
// deleted), so that "unsigned" is not served from the cache once the signature is there.
import type { Logger } from 'pino';
import type { EventBatcher } from '../events/event-batcher.js';
import { eventTime } from '../events/events.js';
import { projectOf } from '../oci/names.js';
import { judge, type Evaluation, type SignatureChecks } from '../trust/signature-checks.js';
import { COSIGN_TAG } from '../trust/signature-sources.js';
import type { EffectivePolicy, TrustPolicies } from '../trust/trust-policies.js';
import { ALLOW, type Caller, type Decider, type PointContexts, type Verdict } from './policy.js';

export interface SignatureGateDeps {
  policies: Pick<TrustPolicies, 'of'>;
  checks: Pick<SignatureChecks, 'cached' | 'evaluate' | 'invalidate'>;
  events: Pick<EventBatcher, 'add'>;
  log: Logger;
  /** At most one warning and event per manifest and level per this interval (ms). */
  noticeIntervalMs?: number;
}

export interface SignatureDeciders {
  pull: Decider<'pull'>;
  manifestPut: Decider<'manifestPut'>;
  tagMove: Decider<'tagMove'>;
  delete: Decider<'delete'>;
}

export function signatureDeciders(deps: SignatureGateDeps): SignatureDeciders {
  const { policies, checks, log } = deps;
  const interval = deps.noticeIntervalMs ?? 60_000;
  const noticed = new Map<string, number>();

  const apply = (policy: EffectivePolicy, evaluation: Evaluation, caller: Caller, c: PointContexts['pull']): Verdict => {
    const verdict = judge(policy, evaluation);
    if (verdict.satisfied) return ALLOW;
    if (policy.level === 'enforce') {
      return { ok: false, code: 'DENIED', message: `${verdict.message}. Sign ${c.repository}@${c.digest} with a key or certificate the policy trusts, or ask a project admin to change the policy` };
    }
    const level = policy.level === 'warn' ? 'warn' : 'audit';
    const key = `${c.repository}\n${c.digest}\n${level}`;
    const now = Date.now();
    if ((noticed.get(key) ?? -Infinity) + interval > now) return ALLOW;
    if (noticed.size > 10_000) noticed.clear();
    noticed.set(key, now);
    if (level === 'warn') log.warn({ repository: c.repository, digest: c.digest, tag: c.tag, actor: caller.actor.name }, `served without a valid signature (trust policy level warn): ${verdict.message}`);
    deps.events.add({ type: 'signature.unverified', at: eventTime(), actor: caller.actor, repository: c.repository, digest: c.digest, tag: c.tag, level, reason: verdict.message });
    return ALLOW;
  };

  const maybeSignature = (repository: string, tag?: string) => {
    if (tag !== undefined && COSIGN_TAG.test(tag)) checks.invalidate(repository);
  };

  return {
    pull: {
      name: 'signature',
      decide(caller, c) {
        if (c.kind !== 'manifest') return ALLOW;
        const policy = policies.of(projectOf(c.repository));
        if (policy.level === 'off') return ALLOW;
        // cosign fetches `sha256-….sig` by tag: a signature is never gated.
        if (c.tag !== undefined && COSIGN_TAG.test(c.tag)) return ALLOW;
        const entry = checks.cached(c.repository, c.digest, policy);
        if (entry) return apply(policy, entry.evaluation, caller, c);
        return checks.evaluate(c.repository, c.digest, policy).then((evaluation) => apply(policy, evaluation, caller, c));
      },
    },
    manifestPut: {
      name: 'signature',
      decide(_caller, c) {
        if (c.subject !== null) checks.invalidate(c.repository);
        else maybeSignature(c.repository, c.tag);
        return ALLOW;
      },
    },
    tagMove: {
      name: 'signature',
      decide(_caller, c) {
        maybeSignature(c.repository, c.tag);
        return ALLOW;
      },
    },
    delete: {
      name: 'signature',
      decide(_caller, c) {
        if (c.kind === 'manifest') checks.invalidate(c.repository);
        else if (c.kind === 'tag') maybeSignature(c.repository, c.tag);
        return ALLOW;
      },
    },
  };
}
