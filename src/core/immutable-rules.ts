// A project's tag immutability rules as use cases: list, add (at most 15, Harbor's limit),
// change, delete. Each change is stored with its event (metadata/tag-rule-store.ts); the store's
// listeners rebuild this process's snapshot before the change returns, and the outbox brings it
// to every other process. Patterns are checked here, so a rule that is stored always compiles.
import type { ProjectRecord } from '../auth/access-store.js';
import type { Actor } from '../events/events.js';
import type { TagRuleStore } from '../metadata/tag-rule-store.js';
import { MAX_IMMUTABLE_RULES, type ImmutableRule } from '../policy/immutability.js';
import { assertPattern, selectsUntagged } from '../policy/tag-selectors.js';
import { invalid, notFound } from '../util/domain-error.js';

export type ImmutableRuleView = ImmutableRule & { id: number };

/** Throws INVALID when a selector's pattern or extras are not Harbor's. */
export function checkSelectors(rule: Pick<ImmutableRule, 'tag_selectors' | 'scope_selectors'>): void {
  try {
    for (const s of rule.tag_selectors) {
      assertPattern(s.pattern);
      selectsUntagged(s);
    }
    for (const s of rule.scope_selectors.repository ?? []) assertPattern(s.pattern);
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

export class ImmutableRuleCases {
  constructor(private readonly store: TagRuleStore) {}

  async list(project: ProjectRecord): Promise<ImmutableRuleView[]> {
    const rows = await this.store.immutableRules<ImmutableRule>(project.id);
    return rows.map((r) => ({ ...r.rule, id: r.id }));
  }

  async create(project: ProjectRecord, rule: ImmutableRule, actor: Actor): Promise<number> {
    checkSelectors(rule);
    const { id: _ignored, ...stored } = rule;
    return this.store.addImmutableRule(project, stored, actor, MAX_IMMUTABLE_RULES);
  }

  async update(project: ProjectRecord, id: number, rule: ImmutableRule, actor: Actor): Promise<void> {
    checkSelectors(rule);
    const { id: _ignored, ...stored } = rule;
    if (!(await this.store.updateImmutableRule(project, id, stored, actor))) throw notFound(`project ${project.name} has no immutability rule ${id}`);
  }

  async delete(project: ProjectRecord, id: number, actor: Actor): Promise<void> {
    if (!(await this.store.deleteImmutableRule(project, id, actor))) throw notFound(`project ${project.name} has no immutability rule ${id}`);
  }
}
