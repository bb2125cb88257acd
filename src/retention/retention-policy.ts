// Harbor's tag retention policy (harbor-layer.md §1.7): its JSON model, the rule templates with
// their parameters and defaults, and what one rule keeps of a repository's artifacts. Pure: no
// I/O. What a whole run keeps and deletes, with minato's guards, is retention/retention-plan.ts.
//
// A rule selects artifacts (scope selectors on the repository, then tag selectors: all must
// select) and its template keeps some of those; what no rule keeps is deleted (retention-plan.ts).
import { Cron } from 'croner';
import { z } from 'zod';
import { ScopeSelectorSchema, TagSelectorSchema } from '../policy/tag-selectors.js';

/** Harbor's limit (400 "only 15 rules are allowed at most"). */
export const MAX_RETENTION_RULES = 15;

const DAY_MS = 86_400_000;

/** A template's parameter: what it counts, its default and its range. */
interface TemplateSpec {
  display: string;
  action: 'retain';
  /** The parameter's unit, for the catalogue (undefined: the template takes none). */
  unit?: 'count' | 'days';
  defaultValue?: number;
  max?: number;
}

/**
 * Harbor's templates (src/pkg/retention/policy/rule/*): each rule's `params` holds its parameter
 * under the template's own name ({"latestPushedK": 10}); absent, the default applies.
 */
export const TEMPLATES = {
  latestPushedK: { display: 'the most recently pushed # artifacts', action: 'retain', unit: 'count', defaultValue: 10, max: 32_766 },
  latestPulledN: { display: 'the most recently pulled # artifacts', action: 'retain', unit: 'count', defaultValue: 10, max: 32_766 },
  latestActiveK: { display: 'the most recently pushed or pulled # artifacts', action: 'retain', unit: 'count', defaultValue: 10, max: 32_766 },
  nDaysSinceLastPush: { display: 'the artifacts pushed within the last # days', action: 'retain', unit: 'days', defaultValue: 30, max: 20_190_904 },
  nDaysSinceLastPull: { display: 'the artifacts pulled within the last # days', action: 'retain', unit: 'days', defaultValue: 30, max: 20_190_904 },
  lastXDays: { display: 'the artifacts created within the last # days', action: 'retain', unit: 'days', defaultValue: 10, max: 20_190_904 },
  always: { display: 'always', action: 'retain' },
} as const satisfies Record<string, TemplateSpec>;

export type TemplateId = keyof typeof TEMPLATES;
export const TEMPLATE_IDS = Object.keys(TEMPLATES) as [TemplateId, ...TemplateId[]];

export const RetentionRuleSchema = z.object({
  id: z.number().int().optional(),
  priority: z.number().int().default(0),
  disabled: z.boolean().default(false),
  action: z.literal('retain').default('retain'),
  template: z.enum(TEMPLATE_IDS),
  params: z.record(z.string(), z.unknown()).default({}).describe('The template\'s parameter under its name, e.g. {"latestPushedK": 10}.'),
  tag_selectors: z.array(TagSelectorSchema).min(1).max(10),
  scope_selectors: z.object({ repository: z.array(ScopeSelectorSchema).min(1).max(10) }),
});

export const RetentionPolicySchema = z.object({
  id: z.number().int().optional().describe('Set by the registry.'),
  algorithm: z.literal('or').default('or').describe('Rules are OR-combined: an artifact any rule keeps stays.'),
  rules: z.array(RetentionRuleSchema).max(MAX_RETENTION_RULES, `only ${MAX_RETENTION_RULES} rules are allowed at most`),
  trigger: z
    .object({
      kind: z.literal('Schedule').default('Schedule'),
      settings: z.object({ cron: z.string().max(100).default('').describe('6 fields, seconds first ("0 0 0 * * *": daily at midnight); empty: manual runs only.') }).default({ cron: '' }),
      references: z.unknown().optional(),
    })
    .default({ kind: 'Schedule', settings: { cron: '' } }),
  scope: z.object({ level: z.literal('project'), ref: z.number().int().positive().describe("The project's id.") }),
});

export type RetentionRule = z.output<typeof RetentionRuleSchema>;
export type RetentionPolicy = z.output<typeof RetentionPolicySchema>;

/** What a template needs to know of an artifact. Times are ms since the epoch. */
export interface Aged {
  digest: string;
  /** The last push: of the manifest, or of a tag onto it. */
  pushedAt: number;
  /** When the manifest was first stored here. */
  createdAt: number;
  pulledAt: number | null;
}

/** A rule's parameter, or its template's default when absent; throws on one out of range. */
export function ruleParameter(rule: Pick<RetentionRule, 'template' | 'params'>): number | undefined {
  const spec: TemplateSpec = TEMPLATES[rule.template];
  if (spec.unit === undefined) return undefined;
  const value = rule.params[rule.template];
  if (value === undefined || value === null) return spec.defaultValue;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > spec.max!) {
    throw new Error(`params.${rule.template} must be a whole number of ${spec.unit} from 0 to ${spec.max}, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** Newest first by a time, then by digest (a stable order for ties). */
function newest<T extends Aged>(items: readonly T[], time: (a: T) => number): T[] {
  return [...items].sort((a, b) => time(b) - time(a) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/** The artifacts (of those the rule's selectors chose) that the rule's template keeps. */
export function templateKeeps<T extends Aged>(rule: Pick<RetentionRule, 'template' | 'params'>, selected: readonly T[], now: number): T[] {
  const n = ruleParameter(rule);
  switch (rule.template) {
    case 'always':
      return [...selected];
    case 'latestPushedK':
      return newest(selected, (a) => a.pushedAt).slice(0, n);
    case 'latestPulledN':
      // Never pulled sorts last (Harbor: pull time 0), so it is kept only when fewer were pulled.
      return newest(selected, (a) => a.pulledAt ?? 0).slice(0, n);
    case 'latestActiveK':
      return newest(selected, (a) => Math.max(a.pushedAt, a.pulledAt ?? 0)).slice(0, n);
    case 'nDaysSinceLastPush':
      return selected.filter((a) => a.pushedAt >= now - n! * DAY_MS);
    case 'nDaysSinceLastPull':
      return selected.filter((a) => a.pulledAt !== null && a.pulledAt >= now - n! * DAY_MS);
    case 'lastXDays':
      return selected.filter((a) => a.createdAt >= now - n! * DAY_MS);
  }
}

/** A rule in words ("keep the most recently pushed 10 artifacts"), for results and the CLI. */
export function describeRetentionRule(rule: Pick<RetentionRule, 'template' | 'params'>): string {
  const spec: TemplateSpec = TEMPLATES[rule.template];
  if (spec.unit === undefined) return 'always';
  let n: number | undefined;
  try {
    n = ruleParameter(rule);
  } catch {
    n = spec.defaultValue;
  }
  return spec.display.replace('#', String(n));
}

/**
 * Checks what the schema cannot: parameters in range, no two rules alike (Harbor's conflict
 * check), a 6-field cron that croner accepts. Throws with a readable reason.
 */
export function checkPolicy(policy: RetentionPolicy): void {
  const seen = new Map<string, number>();
  policy.rules.forEach((rule, i) => {
    ruleParameter(rule);
    const key = JSON.stringify([rule.template, ruleParameter(rule), rule.tag_selectors, rule.scope_selectors]);
    const before = seen.get(key);
    if (before !== undefined) throw new Error(`rule ${i + 1} is the same as rule ${before + 1}: remove one`);
    seen.set(key, i);
  });
  const cron = policy.trigger.settings.cron.trim();
  if (cron !== '') {
    if (cron.split(/\s+/).length !== 6) throw new Error(`trigger.settings.cron "${cron}" must have 6 fields, seconds first ("0 0 0 * * *": daily at midnight), as Harbor's`);
    try {
      new Cron(cron, { paused: true }).stop();
    } catch (err) {
      throw new Error(`trigger.settings.cron "${cron}" is not a cron expression: ${(err as Error).message}`);
    }
  }
}
