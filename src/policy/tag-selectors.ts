// Harbor's rule selectors, shared by tag immutability and tag retention: which repositories
// (scope selectors, on the repository's path inside its project: "app" or "team/app" of project
// "acme") and which artifacts by their tags (tag selectors). Patterns are Harbor's "doublestar"
// kind (bmatcuk/doublestar): `*` any run of characters but "/", `**` anything (slashes too), `?`,
// `[abc]`, `{a,b}`; a leading dot is an ordinary character; an empty pattern matches everything.
// picomatch spells the same grammar (`dot: true` for the dots, `strictBrackets` for doublestar's
// ErrBadPattern), compiled once per pattern.
//
// Tag selectors work on an artifact (a digest with all its tags), as Harbor's do:
//  - `matches`: selected when any of its tags matches the pattern;
//  - `excludes`: selected when any of its tags does not match it (Harbor's rule, which surprises:
//    an artifact tagged both "v1" and "latest" is selected by excludes "latest");
//  - an untagged artifact is selected when the selector's extras say `{"untagged": true}`; the
//    default is true for `matches` and false for `excludes`.
import picomatch from 'picomatch';
import { z } from 'zod';

export const TAG_DECORATIONS = ['matches', 'excludes'] as const;
export const REPOSITORY_DECORATIONS = ['repoMatches', 'repoExcludes'] as const;

/** Longest pattern accepted: tags are at most 128 characters and names 255, and a short pattern keeps its regular expression cheap. */
const MAX_PATTERN = 256;

const pattern = z.string().max(MAX_PATTERN).describe('A doublestar pattern: * (no "/"), ** (anything), ?, [abc], {a,b}; empty matches everything.');

export const TagSelectorSchema = z.object({
  kind: z.literal('doublestar').default('doublestar'),
  decoration: z.enum(TAG_DECORATIONS),
  pattern,
  extras: z.string().max(256).optional().describe('JSON: {"untagged": true|false}, whether untagged artifacts are selected (default true for matches, false for excludes).'),
});

export const ScopeSelectorSchema = z.object({
  kind: z.literal('doublestar').default('doublestar'),
  decoration: z.enum(REPOSITORY_DECORATIONS),
  pattern,
});

export type TagSelector = z.output<typeof TagSelectorSchema>;
export type ScopeSelector = z.output<typeof ScopeSelectorSchema>;

/** Dots are ordinary; an unbalanced bracket or brace is an error (doublestar's ErrBadPattern), not a literal. */
const OPTIONS = { dot: true, strictBrackets: true } as const;

const compiled = new Map<string, (value: string) => boolean>();

/** Whether `value` matches a doublestar pattern (an empty pattern matches everything). */
export function matchesPattern(patternText: string, value: string): boolean {
  if (patternText === '') return true;
  let matcher = compiled.get(patternText);
  if (!matcher) {
    if (compiled.size >= 10_000) compiled.clear();
    matcher = picomatch(patternText, OPTIONS);
    compiled.set(patternText, matcher);
  }
  return matcher(value);
}

/** Checks that a pattern compiles; throws with a readable reason otherwise. */
export function assertPattern(patternText: string): void {
  try {
    picomatch.makeRe(patternText, OPTIONS);
  } catch (err) {
    throw new Error(`pattern "${patternText.slice(0, 100)}" is not a doublestar pattern: ${(err as Error).message}`);
  }
}

/** Whether the selector's extras select untagged artifacts. Throws on extras that are not Harbor's JSON. */
export function selectsUntagged(selector: TagSelector): boolean {
  if (selector.extras === undefined || selector.extras === '') return selector.decoration === 'matches';
  let extras: unknown;
  try {
    extras = JSON.parse(selector.extras);
  } catch {
    throw new Error(`extras ${JSON.stringify(selector.extras.slice(0, 100))} is not JSON; Harbor's form is {"untagged":true}`);
  }
  const untagged = (extras as { untagged?: unknown } | null)?.untagged;
  if (untagged === undefined) return selector.decoration === 'matches';
  if (typeof untagged !== 'boolean') throw new Error('extras.untagged must be true or false');
  return untagged;
}

/** Whether one tag selector selects an artifact with these tags. */
export function tagSelectorSelects(selector: TagSelector, tags: readonly string[]): boolean {
  if (tags.length === 0) return selectsUntagged(selector);
  const matched = (t: string) => matchesPattern(selector.pattern, t);
  return selector.decoration === 'matches' ? tags.some(matched) : tags.some((t) => !matched(t));
}

/** Whether every tag selector selects the artifact (none: all artifacts). */
export function tagSelectorsSelect(selectors: readonly TagSelector[], tags: readonly string[]): boolean {
  return selectors.every((s) => tagSelectorSelects(s, tags));
}

/** Whether the scope selectors select a repository (its path inside the project); none: every repository. */
export function scopeSelects(selectors: readonly ScopeSelector[] | undefined, repositoryPath: string): boolean {
  return (selectors ?? []).every((s) => (s.decoration === 'repoMatches' ? matchesPattern(s.pattern, repositoryPath) : !matchesPattern(s.pattern, repositoryPath)));
}

/** The repository's path inside its project ("team/app" of "acme/team/app"), what scope patterns see. */
export function pathInProject(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(slash + 1);
}
