// The result type of `minato doctor`: one Check per thing it looked at, in the order it looked,
// and the Report that collects them. A check that could not run because an earlier one failed is
// a `skip` that says why, so every run lists the same checks in the same order.

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  /** Stable dotted id (`tls.chain`), for scripts reading --json. */
  id: string;
  /** What was checked, in a few words. */
  title: string;
  status: CheckStatus;
  /** What was seen (for a skip: why it did not run). */
  detail: string;
  /** For a warn or fail: the cause in plain words. */
  cause?: string;
  /** For a warn or fail: what to do (a command or a config line). */
  fix?: string;
}

export interface DoctorReport {
  /** The registry as doctor reached it, e.g. https://registry.example.com:5443 */
  target: string;
  checks: Check[];
  /** True when no check failed (warnings allowed). */
  ok: boolean;
}

/** The checks of one run, appended in order. */
export class Report {
  readonly checks: Check[] = [];

  constructor(readonly target: string) {}

  add(check: Check): Check {
    this.checks.push(check);
    return check;
  }

  pass(id: string, title: string, detail: string): Check {
    return this.add({ id, title, status: 'pass', detail });
  }

  warn(id: string, title: string, detail: string, cause: string, fix?: string): Check {
    return this.add({ id, title, status: 'warn', detail, cause, ...(fix ? { fix } : {}) });
  }

  fail(id: string, title: string, detail: string, cause: string, fix?: string): Check {
    return this.add({ id, title, status: 'fail', detail, cause, ...(fix ? { fix } : {}) });
  }

  skip(id: string, title: string, reason: string): Check {
    return this.add({ id, title, status: 'skip', detail: reason });
  }

  get failed(): boolean {
    return this.checks.some((c) => c.status === 'fail');
  }

  result(): DoctorReport {
    return { target: this.target, checks: this.checks, ok: !this.failed };
  }
}
