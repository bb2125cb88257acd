// Debian's chromium driven by playwright-core, for the UI's end-to-end tests: one browser per
// test file, pages that record every console error or warning, failed request and uncaught
// exception (a test asserts there were none), and axe-core run on the page as it stands.
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const require = createRequire(import.meta.url);
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** What went wrong in the page so far: console errors and warnings, page errors, failed requests. */
  problems: string[];
}

export async function launchBrowser(): Promise<Browser> {
  // playwright adds --no-sandbox when running as root (peers-next.md §5).
  return chromium.launch({ executablePath: CHROMIUM, args: ['--disable-gpu'] });
}

export interface PageOptions {
  viewport?: { width: number; height: number };
  /** For a registry whose certificate chromium does not trust (a test CA). */
  ignoreHTTPSErrors?: boolean;
}

export async function watchedPage(browser: Browser, opts: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1, ignoreHTTPSErrors: opts.ignoreHTTPSErrors });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  return { page, context, problems };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Injected by evaluating its source: an added <script> would be refused by the page's CSP.
  const source = await import('node:fs/promises').then((fs) => fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8'));
  await page.evaluate(source);
  const result = (await page.evaluate(() => (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<unknown> } }).axe.run(document, { resultTypes: ['violations'] }))) as {
    violations: AxeViolation[];
  };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.id} [${v.impact}] ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n');
}
