// Harbor's doublestar selectors as minato matches them: the common patterns as doublestar reads
// them (`*` stops at "/", `**` does not, `{a,b}`, leading dots ordinary, empty matches all, a
// broken bracket an error), and the artifact semantics of matches/excludes with untagged extras.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertPattern, matchesPattern, pathInProject, scopeSelects, tagSelectorSelects, type TagSelector } from '../../../src/policy/tag-selectors.js';

const sel = (decoration: 'matches' | 'excludes', pattern: string, extras?: string): TagSelector => ({ kind: 'doublestar', decoration, pattern, ...(extras ? { extras } : {}) });

describe('doublestar patterns', () => {
  test('tags: v*, **, release-{1,2}.*, ?, [..], empty', () => {
    const cases: Array<[string, string, boolean]> = [
      ['v*', 'v1', true],
      ['v*', 'v1.2.3', true],
      ['v*', 'latest', false],
      ['v*', 'xv1', false],
      ['**', 'anything.at-all_1', true],
      ['*', '.hidden', true],
      ['release-{1,2}.*', 'release-1.0', true],
      ['release-{1,2}.*', 'release-2.15', true],
      ['release-{1,2}.*', 'release-3.0', false],
      ['release-{1,2}.*', 'release-1', false],
      ['v?', 'v1', true],
      ['v?', 'v10', false],
      ['v[0-9]*', 'v7-rc', true],
      ['v[0-9]*', 'vx', false],
      ['sha256-*.sig', `sha256-${'a'.repeat(64)}.sig`, true],
      ['', 'whatever', true],
    ];
    for (const [pattern, value, expected] of cases) assert.equal(matchesPattern(pattern, value), expected, `${pattern} ~ ${value}`);
  });

  test('repositories: * stays in one path component, ** crosses them; paths are inside the project', () => {
    assert.equal(pathInProject('acme/library/app'), 'library/app');
    assert.equal(pathInProject('acme'), 'acme');
    const cases: Array<[string, string, boolean]> = [
      ['library/**', 'library/app', true],
      ['library/**', 'library/a/b', true],
      ['library/**', 'other/app', false],
      ['*', 'app', true],
      ['*', 'team/app', false],
      ['**', 'team/app', true],
      ['{app,web}', 'web', true],
      ['*/app', 'team/app', true],
    ];
    for (const [pattern, value, expected] of cases) assert.equal(matchesPattern(pattern, value), expected, `${pattern} ~ ${value}`);
    assert.equal(scopeSelects([{ kind: 'doublestar', decoration: 'repoMatches', pattern: 'library/**' }], 'library/app'), true);
    assert.equal(scopeSelects([{ kind: 'doublestar', decoration: 'repoExcludes', pattern: 'library/**' }], 'library/app'), false);
    assert.equal(scopeSelects([{ kind: 'doublestar', decoration: 'repoExcludes', pattern: 'library/**' }], 'tools/app'), true);
  });

  test('a broken bracket or brace is an error, not a literal', () => {
    for (const bad of ['v[', 'v{a', 'a]']) assert.throws(() => assertPattern(bad), /not a doublestar pattern/);
    assert.doesNotThrow(() => assertPattern('release-{1,2}.*'));
  });
});

describe('tag selectors on artifacts (Harbor: a digest with all its tags)', () => {
  test('matches: any tag matches; untagged selected unless extras say no', () => {
    assert.equal(tagSelectorSelects(sel('matches', 'v*'), ['latest', 'v1']), true);
    assert.equal(tagSelectorSelects(sel('matches', 'v*'), ['latest']), false);
    assert.equal(tagSelectorSelects(sel('matches', 'v*'), []), true);
    assert.equal(tagSelectorSelects(sel('matches', 'v*', '{"untagged":false}'), []), false);
  });

  test('excludes: selected when any tag does not match (Harbor #11450); untagged only when extras say so', () => {
    assert.equal(tagSelectorSelects(sel('excludes', 'latest'), ['latest']), false);
    assert.equal(tagSelectorSelects(sel('excludes', 'latest'), ['latest', 'v1']), true);
    assert.equal(tagSelectorSelects(sel('excludes', 'latest'), ['v1']), true);
    assert.equal(tagSelectorSelects(sel('excludes', 'latest'), []), false);
    assert.equal(tagSelectorSelects(sel('excludes', 'latest', '{"untagged":true}'), []), true);
  });

  test('extras that are not Harbor\'s JSON are an error', () => {
    assert.throws(() => tagSelectorSelects(sel('matches', 'v*', '{untagged}'), []), /not JSON/);
    assert.throws(() => tagSelectorSelects(sel('matches', 'v*', '{"untagged":"yes"}'), []), /true or false/);
  });
});
