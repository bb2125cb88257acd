// The signature gate's decider and the checks' caches, on a source and verifier that count their
// calls: a second pull of the same manifest under the same policy version is answered without a
// promise and without listing or verifying anything; an invalidation (a signature pushed) and a
// new policy version make it look again; a verification result is reused across invalidations
// of the same version; warn records one event per interval, audit too, enforce refuses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { signatureDeciders } from '../../src/policy/signature.js';
import { SignatureChecks } from '../../src/trust/signature-checks.js';
import type { FoundSignature, SignatureVerifier } from '../../src/trust/signatures.js';
import { effectivePolicy, type EffectivePolicy } from '../../src/trust/trust-policies.js';
import { emptyMaterial, type TrustLevel } from '../../src/trust/trust-policy-store.js';
import type { RegistryEvent } from '../../src/events/events.js';

const SUBJECT = `sha256:${'a'.repeat(64)}`;
const caller = { actor: { kind: 'user' as const, name: 'dave' } };
const pull = { repository: 'demo/app', digest: SUBJECT, kind: 'manifest' as const, tag: 'v1' };

function setup() {
  const counts = { list: 0, verify: 0 };
  let signatures: FoundSignature[] = [];
  let valid = true;
  const verifier: SignatureVerifier = {
    formats: ['cosign'],
    async verify(sig) {
      counts.verify++;
      return valid ? { format: 'cosign', signatureDigest: sig.digest, verified: true, signer: 'ci' } : { format: 'cosign', signatureDigest: sig.digest, verified: false, reason: 'wrong key' };
    },
  };
  const checks = new SignatureChecks({
    source: {
      async list() {
        counts.list++;
        return signatures;
      },
    },
    verifiers: [verifier],
    getManifest: async () => undefined,
    parentsOf: async () => [],
    tagsOf: async () => [],
    log: pino({ level: 'silent' }),
  });
  let policy: EffectivePolicy = at('enforce', 1);
  const events: RegistryEvent[] = [];
  const deciders = signatureDeciders({ policies: { of: () => policy }, checks, events: { add: (e) => events.push(e) }, log: pino({ level: 'silent' }), noticeIntervalMs: 60_000 });
  return {
    counts,
    events,
    decide: () => deciders.pull.decide(caller, pull),
    deciders,
    sign: () => (signatures = [{ format: 'cosign', subject: SUBJECT, digest: `sha256:${'b'.repeat(64)}`, location: 'tag', load: async () => ({ layers: [] }) }]),
    setValid: (v: boolean) => (valid = v),
    setPolicy: (p: EffectivePolicy) => (policy = p),
  };
}

function at(level: TrustLevel, version: number): EffectivePolicy {
  return effectivePolicy({ projectId: 1, project: 'demo', metadata: {}, level, material: emptyMaterial(), version, updatedAt: 0 });
}

describe('signature gate', () => {
  test('a cached decision is sync; a pushed signature and a new policy version are seen', async () => {
    const g = setup();
    const first = g.decide();
    assert.ok(first instanceof Promise, 'the first pull evaluates');
    assert.equal((await first).ok, false);
    const cached = g.decide();
    assert.ok(!(cached instanceof Promise), 'the second is a Map lookup');
    assert.equal((cached as { ok: boolean }).ok, false);
    assert.deepEqual(g.counts, { list: 1, verify: 0 });
    // A signature pushed: the manifestPut hook (a manifest with a subject) drops the cached "unsigned".
    g.sign();
    assert.deepEqual(g.deciders.manifestPut.decide(caller, { repository: 'demo/app', digest: 'sha256:x', mediaType: 'm', size: 1, subject: SUBJECT, blobs: [] }), { ok: true });
    assert.equal((await g.decide()).ok, true);
    assert.equal((g.decide() as { ok: boolean }).ok, true);
    assert.deepEqual(g.counts, { list: 2, verify: 1 });
    // A cosign tag moved invalidates too; the verification result of this version is reused.
    g.deciders.tagMove.decide(caller, { repository: 'demo/app', tag: `sha256-${'a'.repeat(64)}.sig`, digest: 'sha256:y' });
    assert.equal((await g.decide()).ok, true);
    assert.deepEqual(g.counts, { list: 3, verify: 1 });
    // A new policy version re-verifies.
    g.setValid(false);
    g.setPolicy(at('enforce', 2));
    const refused = await g.decide();
    assert.equal(refused.ok, false);
    assert.match((refused as { message: string }).message, /policy of project demo requires a valid signature: 1 signature found, cosign — wrong key/);
    assert.deepEqual(g.counts, { list: 4, verify: 2 });
    // Blobs and off are never looked at.
    assert.deepEqual(g.deciders.pull.decide(caller, { ...pull, kind: 'blob' }), { ok: true });
    g.setPolicy(at('off', 3));
    assert.deepEqual(g.decide(), { ok: true });
    assert.deepEqual(g.counts, { list: 4, verify: 2 });
  });

  test('warn and audit serve and record one event per manifest per interval', async () => {
    for (const level of ['warn', 'audit'] as const) {
      const g = setup();
      g.setPolicy(at(level, 1));
      assert.equal((await g.decide()).ok, true);
      assert.deepEqual(g.decide(), { ok: true });
      assert.equal(g.events.length, 1);
      assert.equal(g.events[0]!.type, 'signature.unverified');
      assert.equal((g.events[0] as { level: string }).level, level);
    }
  });
});
