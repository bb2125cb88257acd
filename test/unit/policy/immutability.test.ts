// The immutability decider: decided from the snapshot in memory (a tag move is answered without a
// promise, so a push pays no query), the first push and the same digest allowed, a move and a
// delete of a covered tag refused with DENIED naming the rule, a delete by digest asking for the
// tags only where a rule applies, disabled rules and other projects ignored, and a reload that
// picks up a change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { immutabilityDeciders, ImmutableRules, ImmutableRuleSchema, type ImmutableRule } from '../../../src/policy/immutability.js';
import type { Caller } from '../../../src/policy/policy.js';

const caller: Caller = { actor: { kind: 'user', name: 'alice' } };
const rule = (tags: string, repos: string, disabled = false): ImmutableRule =>
  ImmutableRuleSchema.parse({ disabled, tag_selectors: [{ decoration: 'matches', pattern: tags }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: repos }] } });

test('decided from memory; moves and deletes of covered tags refused, naming the rule', async () => {
  let rows = [
    { id: 7, projectId: 1, project: 'team', rule: rule('v*', 'app/**') },
    { id: 8, projectId: 1, project: 'team', rule: rule('**', '**', true) },
  ];
  const rules = new ImmutableRules({ immutableRules: async <R>() => rows as unknown as Array<{ id: number; projectId: number; project: string; rule: R }> });
  await rules.reload();
  const asked: string[] = [];
  const d = immutabilityDeciders({ rules, tagsOf: async (_repo, digest) => (asked.push(digest), ['v1', 'latest']) });

  assert.deepEqual(d.tagMove.decide(caller, { repository: 'team/app/web', tag: 'v1', digest: 'sha256:b' }), { ok: true }, 'first push');
  assert.deepEqual(d.tagMove.decide(caller, { repository: 'team/app/web', tag: 'v1', digest: 'sha256:a', previous: 'sha256:a' }), { ok: true }, 'same digest');
  const refused = d.tagMove.decide(caller, { repository: 'team/app/web', tag: 'v1', digest: 'sha256:b', previous: 'sha256:a' });
  assert.ok(!(refused instanceof Promise), 'a tag move is decided without a promise');
  assert.equal(refused.ok, false);
  assert.ok(!refused.ok && refused.code === 'DENIED' && /immutability rule 7/.test(refused.message) && /tags matching "v\*"/.test(refused.message));
  assert.deepEqual(d.tagMove.decide(caller, { repository: 'team/app/web', tag: 'latest', digest: 'sha256:b', previous: 'sha256:a' }), { ok: true }, 'a tag outside the rule');
  assert.deepEqual(d.tagMove.decide(caller, { repository: 'team/other', tag: 'v1', digest: 'sha256:b', previous: 'sha256:a' }), { ok: true }, 'a repository outside the rule');
  assert.deepEqual(d.tagMove.decide(caller, { repository: 'elsewhere/app/web', tag: 'v1', digest: 'sha256:b', previous: 'sha256:a' }), { ok: true }, 'another project');

  const tagDelete = d.delete.decide(caller, { repository: 'team/app/web', kind: 'tag', tag: 'v1', digest: 'sha256:a' });
  assert.ok(!(tagDelete instanceof Promise) && !tagDelete.ok);
  const byDigest = await d.delete.decide(caller, { repository: 'team/app/web', kind: 'manifest', digest: 'sha256:a' });
  assert.ok(!byDigest.ok && /deleting the artifact sha256:a that carries it/.test(byDigest.message));
  assert.deepEqual(d.delete.decide(caller, { repository: 'team/other', kind: 'manifest', digest: 'sha256:c' }), { ok: true });
  assert.deepEqual(asked, ['sha256:a'], 'tags are read only where a rule applies');

  rows = [];
  await rules.reload();
  assert.deepEqual(d.tagMove.decide(caller, { repository: 'team/app/web', tag: 'v1', digest: 'sha256:b', previous: 'sha256:a' }), { ok: true }, 'after the rule is gone');
});
