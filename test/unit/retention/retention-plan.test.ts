// Tag retention's decisions: every template with its parameter and default, rules OR-combined,
// deletion by artifact (an artifact any rule keeps stays with all its tags), immutable tags kept,
// repositories outside every rule's scope untouched, and the guards: children of a kept index,
// the subject of a kept referrer, signatures and SBOMs (referrers and cosign tags) that follow
// their subject, children that go with their deleted index. Also the policy checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPolicy, RetentionPolicySchema, RetentionRuleSchema, templateKeeps, type RetentionRule } from '../../../src/retention/retention-policy.js';
import { planRepository, type ManifestFacts } from '../../../src/retention/retention-plan.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 31);

const rule = (template: string, n?: number, tags = '**', repos = '**', extra: Record<string, unknown> = {}): RetentionRule =>
  RetentionRuleSchema.parse({
    template,
    params: n === undefined ? {} : { [template]: n },
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tags }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: repos }] },
    ...extra,
  });

const digest = (name: string) => `sha256:${Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64)}`;
function m(name: string, tags: string[], daysAgo: number, pulledDaysAgo: number | null = null, extra: Partial<ManifestFacts> = {}): ManifestFacts {
  return {
    digest: digest(name),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    tags,
    pushedAt: NOW - daysAgo * DAY,
    createdAt: NOW - daysAgo * DAY,
    pulledAt: pulledDaysAgo === null ? null : NOW - pulledDaysAgo * DAY,
    subject: null,
    children: [],
    ...extra,
  };
}

const names = (list: Array<{ digest: string }>) => list.map((a) => a.digest).sort();
const kept = (plan: ReturnType<typeof planRepository>) => names(plan!.filter((i) => i.action === 'RETAIN'));
const deleted = (plan: ReturnType<typeof planRepository>) => names(plan!.filter((i) => i.action === 'DEL'));
const plan = (manifests: ManifestFacts[], rules: RetentionRule[], immutable: (t: string) => boolean = () => false, repository = 'acme/app') =>
  planRepository({ repository, manifests, rules, immutable, now: NOW });

describe('templates', () => {
  // a: pushed 1 day ago, never pulled; b: 5 days, pulled 2 days ago; c: 40 days, pulled today; d: 100 days, never.
  const a = m('a', ['a'], 1);
  const b = m('b', ['b'], 5, 2);
  const c = m('c', ['c'], 40, 0);
  const d = m('d', ['d'], 100);
  const all = [a, b, c, d];
  const keeps = (template: string, n?: number) => names(templateKeeps(rule(template, n), all, NOW));

  test('latestPushedK, latestPulledN, latestActiveK: the top K by push, pull, max(push, pull)', () => {
    assert.deepEqual(keeps('latestPushedK', 2), names([a, b]));
    assert.deepEqual(keeps('latestPulledN', 2), names([c, b]));
    assert.deepEqual(keeps('latestPulledN', 3), names([c, b, a]), 'never pulled sorts last, then by digest');
    assert.deepEqual(keeps('latestActiveK', 1), names([c]));
    assert.deepEqual(keeps('latestActiveK', 2), names([c, a]));
    assert.deepEqual(keeps('latestPushedK', 0), []);
  });

  test('nDaysSinceLastPush, nDaysSinceLastPull, lastXDays, always; defaults when no parameter', () => {
    assert.deepEqual(keeps('nDaysSinceLastPush', 7), names([a, b]));
    assert.deepEqual(keeps('nDaysSinceLastPull', 1), names([c]));
    assert.deepEqual(keeps('nDaysSinceLastPull', 3), names([b, c]));
    assert.deepEqual(keeps('lastXDays', 50), names([a, b, c]));
    assert.deepEqual(keeps('always'), names(all));
    assert.deepEqual(keeps('nDaysSinceLastPush'), names([a, b]), 'default 30 days');
    assert.deepEqual(keeps('latestPushedK'), names(all), 'default 10');
  });

  test('policy checks: parameters in range, at most 15 rules, no duplicates, a 6-field cron', () => {
    const policy = (rules: unknown[], cron = '') => RetentionPolicySchema.parse({ rules, trigger: { kind: 'Schedule', settings: { cron } }, scope: { level: 'project', ref: 1 } });
    const r = { template: 'latestPushedK', params: { latestPushedK: 3 }, tag_selectors: [{ decoration: 'matches', pattern: '**' }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: '**' }] } };
    assert.doesNotThrow(() => checkPolicy(policy([r], '0 0 0 * * *')));
    assert.throws(() => checkPolicy(policy([{ ...r, params: { latestPushedK: -1 } }])), /whole number/);
    assert.throws(() => checkPolicy(policy([{ ...r, params: { latestPushedK: 'ten' } }])), /whole number/);
    assert.throws(() => checkPolicy(policy([r, r])), /same as rule 1/);
    assert.throws(() => checkPolicy(policy([r], '0 0 * * *')), /6 fields/);
    assert.throws(() => checkPolicy(policy([r], '0 0 99 * * *')), /not a cron/);
    assert.throws(() => policy(Array.from({ length: 16 }, (_, i) => ({ ...r, params: { latestPushedK: i } }))), /only 15 rules/);
  });
});

describe('a repository\'s plan', () => {
  test('rules are OR-combined and deletion is by artifact: a kept artifact keeps all its tags', () => {
    const v1 = m('v1', ['v1', 'stable'], 30);
    const v2 = m('v2', ['v2'], 20);
    const dev = m('dev', ['dev-1'], 10);
    const old = m('old', ['dev-0'], 50);
    const untagged = m('untagged', [], 2);
    const tagged = (template: string, n: number | undefined, pattern: string) => {
      const r = rule(template, n, pattern);
      return { ...r, tag_selectors: [{ ...r.tag_selectors[0]!, extras: '{"untagged":false}' }] };
    };
    const p = plan([v1, v2, dev, old, untagged], [tagged('latestPushedK', 1, 'v*'), tagged('latestPushedK', 1, 'dev-*'), tagged('always', undefined, 'stable')]);
    assert.deepEqual(kept(p), names([v1, v2, dev]));
    assert.deepEqual(deleted(p), names([old, untagged]));
    assert.match(p!.find((i) => i.digest === v1.digest)!.reason, /rule 3: always/);
    assert.match(p!.find((i) => i.digest === old.digest)!.reason, /no rule keeps it/);
    // Harbor's default: `matches` selects untagged artifacts too, so the newest one (untagged) is what "the latest 1 v*" keeps.
    assert.deepEqual(kept(plan([v1, v2, untagged], [rule('latestPushedK', 1, 'v*')])), names([untagged]));
  });

  test('a repository outside every rule\'s scope is left alone; disabled rules count for nothing', () => {
    assert.equal(plan([m('x', ['x'], 1)], [rule('always', undefined, '**', 'web/**')]), undefined);
    assert.equal(plan([m('x', ['x'], 1)], [rule('always', undefined, '**', '**', { disabled: true })]), undefined);
    assert.deepEqual(kept(plan([m('y', ['y'], 1)], [rule('always', undefined, '**', 'app')])), [digest('y')]);
  });

  test('an artifact with an immutable tag is kept whatever the rules say', () => {
    const p = plan([m('a', ['release-1'], 400), m('b', ['tmp'], 400)], [rule('latestPushedK', 0)], (t) => t.startsWith('release-'));
    assert.deepEqual(kept(p), [digest('a')]);
    assert.match(p!.find((i) => i.action === 'RETAIN')!.reason, /immutable tag release-1/);
  });

  test('guards: the children of a kept index stay, the children of a deleted one go with it', () => {
    const c1 = m('c1', [], 10);
    const c2 = m('c2', [], 10);
    const shared = m('shared', [], 10);
    const keptIndex = m('idx-new', ['new'], 1, null, { children: [c1.digest, shared.digest], mediaType: 'application/vnd.oci.image.index.v1+json' });
    const goneIndex = m('idx-old', ['old'], 90, null, { children: [c2.digest, shared.digest], mediaType: 'application/vnd.oci.image.index.v1+json' });
    const p = plan([c1, c2, shared, keptIndex, goneIndex], [rule('latestPushedK', 1)]);
    assert.deepEqual(kept(p), names([keptIndex, c1, shared]));
    assert.deepEqual(deleted(p), names([goneIndex, c2]));
    // Deletion order: the index before its children.
    const order = p!.filter((i) => i.action === 'DEL').map((i) => i.digest);
    assert.ok(order.indexOf(goneIndex.digest) < order.indexOf(c2.digest));
    // A tagged child is a candidate of its own, but a kept index keeps it anyway.
    const tagged = m('tagged-child', ['arm64'], 300);
    const index = m('idx', ['v1'], 1, null, { children: [tagged.digest] });
    assert.deepEqual(kept(plan([tagged, index], [rule('latestPushedK', 1, 'v*')])), names([tagged, index]));
  });

  test('guards: signatures and SBOMs (referrers, cosign tags) stay with a kept subject and go with a deleted one', () => {
    const keptImage = m('image-new', ['v2'], 1);
    const goneImage = m('image-old', ['v1'], 60);
    const sbom = m('sbom-new', [], 1, null, { subject: keptImage.digest });
    const oldSbom = m('sbom-old', [], 60, null, { subject: goneImage.digest });
    const sig = m('sig-new', [`sha256-${keptImage.digest.slice(7)}.sig`], 1);
    const oldSig = m('sig-old', [`sha256-${goneImage.digest.slice(7)}.sig`], 60);
    // A rule that would delete every untagged artifact and every sha256-* tag, were they candidates.
    const p = plan([keptImage, goneImage, sbom, oldSbom, sig, oldSig], [rule('latestPushedK', 1, 'v*')]);
    assert.deepEqual(kept(p), names([keptImage, sbom, sig]));
    assert.deepEqual(deleted(p), names([goneImage, oldSbom, oldSig]));
    const order = p!.filter((i) => i.action === 'DEL').map((i) => i.digest);
    assert.ok(order.indexOf(oldSig.digest) < order.indexOf(goneImage.digest), 'accessories before their subject');
  });

  test('guards: a kept referrer keeps its subject (an immutable signature keeps the image it signs)', () => {
    const image = m('image', ['v1'], 60);
    const sig = m('sig', [`sha256-${image.digest.slice(7)}.sig`], 60);
    const p = plan([image, sig], [rule('latestPushedK', 0)], (t) => t.endsWith('.sig'));
    assert.deepEqual(kept(p), names([image, sig]));
  });
});
