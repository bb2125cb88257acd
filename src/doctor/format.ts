// The text form of a doctor report: one line per check, and under a warning or a failure its
// cause and fix, wrapped and indented so that they read as one block.
import type { Check, DoctorReport } from './check.js';

const WIDTH = 100;
const LABEL: Record<Check['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** Words of `text` after `first`, continued on lines that start with `indent`. */
function wrap(text: string, first: string, indent: string): string[] {
  const lines: string[] = [];
  let line = first;
  let fresh = true; // nothing yet after the line's prefix
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
      fresh = true;
    }
    line += (fresh ? '' : ' ') + word;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

export function formatReport(report: DoctorReport): string {
  const idWidth = Math.max(...report.checks.map((c) => c.id.length)) + 2;
  const out = [`minato doctor: ${report.target}`, ''];
  for (const c of report.checks) {
    const head = `${LABEL[c.status]}  ${c.id.padEnd(idWidth)}`;
    out.push(...wrap(c.detail, head, ' '.repeat(head.length)));
    if (c.cause) out.push(...wrap(c.cause, '      cause: ', '             '));
    if (c.fix) out.push(...wrap(c.fix, '      fix:   ', '             '));
  }
  const count = (s: Check['status']) => report.checks.filter((c) => c.status === s).length;
  const summary = [`${count('fail')} failed`, `${count('warn')} warning${count('warn') === 1 ? '' : 's'}`, `${count('pass')} passed`, `${count('skip')} skipped`];
  out.push('', `${report.ok ? 'OK' : 'PROBLEMS FOUND'}: ${summary.join(', ')}`);
  return `${out.join('\n')}\n`;
}
