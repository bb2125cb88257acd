// The UI's first meaningful paint on a big repository: an in-process registry on 127.0.0.1 with
// the built UI, one repository of 10,000 artifacts (one tag each) and one of a single artifact
// with 10,000 tags, pushed over the registry API; chromium (playwright-core) signs in once, then
// loads each repository's page cold (a new page, the HTTP cache kept, as a returning user) and
// times navigation start -> the first artifact drawn (performance.now() in the page). The page
// asks for one page of 10 artifacts, never for the 10,000. Target: under 1 s (issue 14).
//   npm run build && node dist/bench/ui-paint.js [--runs N]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { launchBrowser } from '../test/helpers/browser.js';
import { request } from '../test/helpers/http.js';
import { startTestRegistry } from '../test/helpers/registry.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, tags: { type: 'string', default: '10000' } } });
const RUNS = Number(values.runs);
const COUNT = Number(values.tags);
const TARGET_MS = 1000;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function parallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const reg = await startTestRegistry();
try {
  const auth = { Authorization: reg.basic };
  const config = Buffer.from('{"architecture":"amd64","os":"linux","config":{"Cmd":["/app"]}}');
  const layer = Buffer.from('one layer for every image of the benchmark');
  const manifestOf = (n: number | undefined) =>
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
      ...(n === undefined ? {} : { annotations: { 'bench.n': String(n) } }),
    }));
  const started = Date.now();
  for (const repo of ['library/many', 'library/one']) {
    for (const blob of [config, layer]) {
      const res = await request(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${sha(blob)}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/octet-stream' }, body: blob });
      if (res.status !== 201) throw new Error(`blob upload answered ${res.status}: ${res.text}`);
    }
  }
  const put = async (repo: string, tag: string, body: Buffer) => {
    const res = await request(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body });
    if (res.status !== 201) throw new Error(`manifest push answered ${res.status}: ${res.text}`);
  };
  const numbers = Array.from({ length: COUNT }, (_, i) => i);
  await parallel(numbers, 8, (i) => put('library/many', `t${String(i).padStart(5, '0')}`, manifestOf(i)));
  const one = manifestOf(undefined);
  await parallel(numbers, 8, (i) => put('library/one', `t${String(i).padStart(5, '0')}`, one));
  console.log(`pushed ${COUNT} artifacts and ${COUNT} tags of one artifact in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const login = await context.newPage();
  await login.goto(`${reg.url}/login`);
  await login.getByLabel('User name').fill(reg.user);
  await login.getByLabel('Password').fill(reg.password);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await login.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
  await login.close();

  const results: Array<{ page: string; median: number; max: number }> = [];
  for (const repo of ['many', 'one']) {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const page = await context.newPage();
      await page.goto(`${reg.url}/projects/library/repositories/${repo}`, { waitUntil: 'commit' });
      const ms = await page.waitForFunction(() => (document.querySelector('li.artifact .tag-name') ? performance.now() : 0), undefined, { polling: 'raf', timeout: 10_000 });
      times.push(Number(await ms.jsonValue()));
      if (run === RUNS - 1) {
        const entries = await page.evaluate(() =>
          (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => `${new URL(e.name).pathname.replace(/^\/api\/v2\.0/, '')} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)} ms`),
        );
        console.log(`library/${repo}, last run: ${entries.join(' | ')}`);
      }
      await page.close();
    }
    times.sort((a, b) => a - b);
    results.push({ page: `library/${repo}`, median: Math.round(times[Math.floor(times.length / 2)]!), max: Math.round(times[times.length - 1]!) });
  }
  await browser.close();
  for (const r of results) console.log(`${r.page}: first artifact drawn after ${r.median} ms (median of ${RUNS}), ${r.max} ms at most; target ${TARGET_MS} ms`);
  if (results.some((r) => r.max >= TARGET_MS)) process.exitCode = 1;
} finally {
  await reg.close();
}
