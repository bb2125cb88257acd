// CVSS v3.x base scores from their vectors (FIRST's CVSS v3.1 specification, §7.1 and
// Appendix A's Roundup), and Harbor's severity bands over a score. OSV records carry only the
// vector (`severity[{type: CVSS_V3, score: "CVSS:3.1/AV:N/..."}]`), so the score is computed.
import type { Severity } from '../inventory.js';

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** CVSS v3.1's Roundup: the smallest number with one decimal that is >= x (without float noise). */
function roundUp(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** The base score of a CVSS v3.0 or v3.1 vector; undefined when it is not one. */
export function cvss3BaseScore(vector: string): number | undefined {
  const m = /^CVSS:3\.[01]\/(.+)$/.exec(vector.trim());
  if (!m) return undefined;
  const metrics = new Map(m[1]!.split('/').map((kv) => kv.split(':') as [string, string]));
  const get = <T extends Record<string, number>>(key: string, table: T): number | undefined => table[metrics.get(key) as keyof T];
  const scope = metrics.get('S');
  const av = get('AV', WEIGHTS.AV);
  const ac = get('AC', WEIGHTS.AC);
  const ui = get('UI', WEIGHTS.UI);
  const pr = get('PR', scope === 'C' ? { N: 0.85, L: 0.68, H: 0.5 } : { N: 0.85, L: 0.62, H: 0.27 });
  const [c, i, a] = ['C', 'I', 'A'].map((k) => get(k, WEIGHTS.CIA));
  if (av === undefined || ac === undefined || ui === undefined || pr === undefined || c === undefined || i === undefined || a === undefined || (scope !== 'U' && scope !== 'C')) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  return roundUp(Math.min((scope === 'U' ? 1 : 1.08) * (impact + exploitability), 10));
}

/** Harbor's bands (CVSS v3 qualitative ratings): 0.1-3.9 Low, 4-6.9 Medium, 7-8.9 High, 9-10 Critical. */
export function severityOfScore(score: number): Severity {
  if (score >= 9) return 'Critical';
  if (score >= 7) return 'High';
  if (score >= 4) return 'Medium';
  if (score > 0) return 'Low';
  return 'Negligible';
}

/** A severity word as feeds write it (GHSA's MODERATE, Ubuntu's medium, Debian's urgency). */
export function severityOfWord(word: string | undefined): Severity | undefined {
  const w = (word ?? '').toLowerCase().replace(/\*+$/, '').trim();
  if (w === 'critical') return 'Critical';
  if (w === 'high' || w === 'important') return 'High';
  if (w === 'medium' || w === 'moderate') return 'Medium';
  if (w === 'low') return 'Low';
  if (w === 'negligible' || w === 'unimportant' || w === 'end-of-life') return 'Negligible';
  return undefined;
}
