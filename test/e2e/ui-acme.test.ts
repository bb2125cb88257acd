// The certificate page in ACME mode, in chromium, against a real `minato serve` that obtained its
// certificate from Pebble over TLS-ALPN-01: the page shows the served certificate's real serial,
// expiry and key type, and where it comes from (the ACME directory and the challenge types).
// axe-core and the console are checked.
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { describeViolations, launchBrowser, seriousViolations, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { acmeServeEnv, startPebble, type Pebble } from '../helpers/pebble.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { servedLeaf } from '../helpers/tls.js';

const SHOTS = process.env.MINATO_UI_SCREENSHOTS;
const hex = (s: string) => s.replace(/[^0-9a-f]/gi, '').replace(/^0+/, '').toLowerCase();

describe('the UI in ACME mode: the certificate Pebble issued', () => {
  let tmp: string;
  let pebble: Pebble;
  let serve: ServeProcess;
  let browser: Browser;
  let w: WatchedPage;
  let page: Page;
  let tlsPort: number;

  before(async () => {
    tmp = await tempDir('minato-e2e-ui-acme-');
    const [httpPort, port] = await freePorts(2);
    tlsPort = port!;
    await mkdir(path.join(tmp, 'pebble'));
    pebble = await startPebble({ dir: path.join(tmp, 'pebble'), httpPort: httpPort!, tlsPort });
    serve = await spawnServe(['--data', path.join(tmp, 'data'), '--listen', `127.0.0.1:${tlsPort}`], acmeServeEnv(pebble, httpPort!, 'tls-alpn-01'));
    await waitFor(() => servedLeaf(tlsPort, pebble.rootPem).catch(() => undefined), 30_000, 'a Pebble certificate');
    browser = await launchBrowser();
    // chromium does not know Pebble's root (new at every start).
    w = await watchedPage(browser, { ignoreHTTPSErrors: true });
    page = w.page;
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    await pebble?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test("the page shows the served certificate's serial, expiry and key type, and the ACME directory and challenge", async () => {
    const leaf = await servedLeaf(tlsPort, pebble.rootPem);
    await page.goto(`https://127.0.0.1:${tlsPort}/system/certificates`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(serve.adminPassword!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Certificates', level: 1 }).waitFor();
    const serial = page.getByTestId('serial');
    await serial.waitFor();
    assert.equal(hex(await serial.innerText()), hex(leaf.serialNumber));
    // Pebble's certificates live an hour here: the page counts them in minutes.
    const lifetime = Math.floor((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 60_000);
    const left = Math.floor((Date.parse(leaf.validTo) - Date.now()) / 60_000);
    assert.ok(lifetime < 120, `Pebble's lifetime here: ${lifetime} min`);
    await page.getByText(new RegExp(`^(${left}|${left - 1}) of ${lifetime} minutes left$`)).waitFor();
    await page.getByText('ECDSA P-256', { exact: true }).waitFor();
    const source = page.locator('dd', { hasText: 'ACME from' });
    assert.match(await source.innerText(), new RegExp(`ACME from ${pebble.directoryUrl.replace(/[.?]/g, '\\$&')}, answering tls-alpn-01`));
    await page.waitForLoadState('networkidle');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'certificates-acme.png'), fullPage: true });
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], `axe:\n${describeViolations(violations)}`);
    assert.deepEqual(w.problems, [], 'console problems');
  });
});
