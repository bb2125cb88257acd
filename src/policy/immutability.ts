// Tag immutability, a decider at tagMove and delete (Harbor's `immutable` middleware and tag
// controller, harbor-layer.md §1.8). A project's rules (Harbor's ImmutableRule: repository scope
// selectors and tag selectors, policy/tag-selectors.ts) make the tags they cover immutable:
//  - moving such a tag to another digest is refused (a push by tag, a retag, a copy onto it); a
//    first push of the tag and a re-push of the digest it already names are fine;
//  - deleting such a tag is refused, and so is deleting an artifact that carries one (a manifest
//    by digest, a repository: its artifacts go with their tags).
// Refused with DENIED (403), naming the rule; Harbor answers 412 (docs/operations.md, "Tag
// immutability", says why minato does not).
//
// Rules are read from an in-memory snapshot (ImmutableRules), rebuilt after every change this
// process makes and when another process's change arrives through the outbox, so a push pays no
// query. Only deleting a manifest by digest in a project with rules reads its tags.
import { z } from 'zod';
import type { TagRuleStore } from '../metadata/tag-rule-store.js';
import { projectOf } from '../oci/names.js';
import { ALLOW, type Decider, type Verdict } from './policy.js';
import { pathInProject, scopeSelects, ScopeSelectorSchema, tagSelectorsSelect, TagSelectorSchema } from './tag-selectors.js';
import { CoalescedReload } from '../util/async.js';

/** Harbor's limit ("a maximum of 15 immutability rules per project"). */
export const MAX_IMMUTABLE_RULES = 15;

export const ImmutableRuleSchema = z.object({
  id: z.number().int().optional().describe('Set by the registry; ignored in a request body.'),
  priority: z.number().int().default(0),
  disabled: z.boolean().default(false),
  action: z.literal('immutable').default('immutable'),
  template: z.literal('immutable_template').default('immutable_template'),
  params: z.record(z.string(), z.unknown()).optional(),
  tag_selectors: z.array(TagSelectorSchema).min(1).max(10),
  scope_selectors: z.object({ repository: z.array(ScopeSelectorSchema).min(1).max(10) }),
});

export type ImmutableRule = z.output<typeof ImmutableRuleSchema>;

interface Covering {
  id: number;
  rule: ImmutableRule;
}

/** The enabled immutability rules of every project, in memory. */
export class ImmutableRules {
  private byProject = new Map<string, Covering[]>();
  private readonly reloads = new CoalescedReload(() => this.load());

  constructor(private readonly store: Pick<TagRuleStore, 'immutableRules'>) {}

  /**
   * Rebuilds the snapshot from the store. Resolves once a reload that started after this call
   * has finished (a caller that just committed a change sees it); concurrent calls share reloads.
   */
  reload(): Promise<void> {
    return this.reloads.run();
  }

  private async load(): Promise<void> {
    const rows = await this.store.immutableRules<ImmutableRule>();
    const next = new Map<string, Covering[]>();
    for (const r of rows) {
      if (r.rule.disabled) continue;
      const list = next.get(r.project) ?? [];
      list.push({ id: r.id, rule: r.rule });
      next.set(r.project, list);
    }
    this.byProject = next;
  }

  /** The rules whose repository scope covers this repository. */
  private rulesFor(repository: string): Covering[] {
    const rules = this.byProject.get(projectOf(repository));
    if (!rules) return [];
    const path = pathInProject(repository);
    return rules.filter((r) => scopeSelects(r.rule.scope_selectors.repository, path));
  }

  /** Whether any rule covers some tag of this repository (else nothing there is immutable). */
  applies(repository: string): boolean {
    return this.rulesFor(repository).length > 0;
  }

  /** The first rule (by priority, then id) that makes this tag immutable, if any. */
  covering(repository: string, tag: string): Covering | undefined {
    const rules = this.rulesFor(repository).filter((r) => tagSelectorsSelect(r.rule.tag_selectors, [tag]));
    rules.sort((a, b) => a.rule.priority - b.rule.priority || a.id - b.id);
    return rules[0];
  }

  /** Whether this tag is immutable (for the API's `immutable` flag). */
  isImmutable(repository: string, tag: string): boolean {
    return this.covering(repository, tag) !== undefined;
  }
}

/** A rule in words, for refusals: "rule 3 (tags matching v*, repositories matching **)". */
export function describeRule(c: Covering): string {
  const tags = c.rule.tag_selectors.map((s) => `${s.decoration === 'matches' ? 'matching' : 'excluding'} "${s.pattern}"`).join(' and ');
  const repos = c.rule.scope_selectors.repository.map((s) => `${s.decoration === 'repoMatches' ? 'matching' : 'excluding'} "${s.pattern}"`).join(' and ');
  return `immutability rule ${c.id} (tags ${tags}, repositories ${repos})`;
}

export interface ImmutabilityDeps {
  rules: ImmutableRules;
  /** The tags of a manifest (committed state), for a delete by digest. */
  tagsOf(repository: string, digest: string): Promise<string[]>;
}

export function immutabilityDeciders(deps: ImmutabilityDeps): { tagMove: Decider<'tagMove'>; delete: Decider<'delete'> } {
  const { rules } = deps;
  const refuse = (repository: string, tag: string, c: Covering, what: string): Verdict => ({
    ok: false,
    code: 'DENIED',
    message:
      `tag ${tag} of ${repository} is immutable under ${describeRule(c)} of project ${projectOf(repository)}: ${what} is refused. ` +
      'Push under a new tag, or ask a project admin or maintainer to change or disable the rule',
  });
  return {
    tagMove: {
      name: 'immutability',
      decide(_caller, c) {
        if (c.previous === undefined || c.previous === c.digest) return ALLOW;
        const covering = rules.covering(c.repository, c.tag);
        return covering ? refuse(c.repository, c.tag, covering, `moving it from ${c.previous} to ${c.digest}`) : ALLOW;
      },
    },
    delete: {
      name: 'immutability',
      decide(_caller, c) {
        if (c.kind === 'blob' || !rules.applies(c.repository)) return ALLOW;
        if (c.kind === 'tag') {
          const covering = c.tag === undefined ? undefined : rules.covering(c.repository, c.tag);
          return covering ? refuse(c.repository, c.tag!, covering, 'deleting it') : ALLOW;
        }
        const digest = c.digest;
        if (digest === undefined) return ALLOW;
        return deps.tagsOf(c.repository, digest).then((tags) => {
          for (const tag of tags) {
            const covering = rules.covering(c.repository, tag);
            if (covering) return refuse(c.repository, tag, covering, `deleting the artifact ${digest} that carries it`);
          }
          return ALLOW;
        });
      },
    },
  };
}
