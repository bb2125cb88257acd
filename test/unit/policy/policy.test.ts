// The policy chains: authorization first, the first refusal wins with its code and message,
// sync deciders cost no promise, async ones are awaited in order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chainsWith } from '../../../src/policy/authorization.js';
import { Policies, PolicyRefusal, type Caller, type Decider } from '../../../src/policy/policy.js';

const user: Caller = { actor: { kind: 'user', name: 'alice' }, grant: { principal: { user: 'alice' } } };
const pullOnlyToken: Caller = {
  actor: { kind: 'user', name: 'alice' },
  grant: { principal: { user: 'alice' }, token: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] },
};
// Everyone may do everything, unless a token says otherwise (what today's Authenticator.permits does).
const permissions = {
  permits: (grant: NonNullable<Caller['grant']>, need: { type: string; name: string; action: string }) =>
    grant.token === undefined || grant.token.some((a) => a.type === need.type && a.name === need.name && a.actions.includes(need.action)),
};

describe('policy points', () => {
  test('authorization is asked first, with the resource of the point (a mount reads its source)', async () => {
    const policies = new Policies(chainsWith(permissions));
    assert.equal(policies.check('pull', pullOnlyToken, { repository: 'team/app', digest: 'sha256:x', kind: 'manifest' }), undefined);
    assert.throws(
      () => policies.check('mount', pullOnlyToken, { repository: 'team/app', digest: 'sha256:x', from: 'other/secret' }),
      (err: unknown) => err instanceof PolicyRefusal && err.code === 'DENIED' && err.decider === 'authorization' && /other\/secret/.test(err.message),
    );
    assert.throws(() => policies.check('manifestPut', pullOnlyToken, { repository: 'team/app', digest: 'sha256:x', mediaType: 'm', size: 1, subject: null, blobs: [] }), PolicyRefusal);
  });

  test('later deciders run after authorization, the first refusal wins, async ones are awaited', async () => {
    const seen: string[] = [];
    const quota: Decider<'blobCommit'> = {
      name: 'quota',
      async decide(_caller, context) {
        seen.push('quota');
        return context.size > 100 ? { ok: false, code: 'DENIED', message: 'over the quota of 100 bytes' } : { ok: true };
      },
    };
    const never: Decider<'blobCommit'> = { name: 'never', decide: () => (seen.push('never'), { ok: true }) };
    const policies = new Policies(chainsWith(permissions, { blobCommit: [quota, never] }));
    await policies.check('blobCommit', user, { repository: 'a/b', digest: 'sha256:x', size: 10 });
    assert.deepEqual(seen, ['quota', 'never']);
    await assert.rejects(
      async () => policies.check('blobCommit', user, { repository: 'a/b', digest: 'sha256:x', size: 1000 }),
      (err: unknown) => err instanceof PolicyRefusal && err.decider === 'quota' && err.message === 'over the quota of 100 bytes',
    );
    assert.deepEqual(seen, ['quota', 'never', 'quota'], 'the refusal stopped the chain');
  });

  test('the system (no grant) passes authorization; an empty point is free', () => {
    const policies = new Policies(chainsWith(permissions));
    assert.equal(policies.check('delete', { actor: { kind: 'system' } }, { repository: 'a/b', kind: 'tag', tag: 'x' }), undefined);
    assert.equal(new Policies({}).check('pull', user, { repository: 'a/b', digest: 'sha256:x', kind: 'blob' }), undefined);
  });
});
