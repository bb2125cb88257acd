// The UI's system pages against a real `minato serve` in private-CA mode (tls.mode ca), in
// chromium: the certificate page shows the served certificate's real serial, names and expiry,
// and "renew now" brings a new one; the "Trust this registry" page shows the CA's fingerprint and
// serves the CA certificate for download. axe-core and the console are checked on each page.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { describeViolations, launchBrowser, seriousViolations, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { request } from '../helpers/http.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

const SHOTS = process.env.MINATO_UI_SCREENSHOTS;
const hex = (s: string) => s.replace(/[^0-9a-f]/gi, '').replace(/^0+/, '').toLowerCase();

describe('the UI in private-CA mode: certificates and trust', () => {
  let tmp: string;
  let data: string;
  let serve: ServeProcess;
  let browser: Browser;
  let w: WatchedPage;
  let page: Page;
  let caPem: string;

  const served = async () => new X509Certificate(await readFile(path.join(data, 'ca', 'server.crt'), 'utf8'));
  const checkPage = async (name: string) => {
    await page.waitForLoadState('networkidle');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], `axe on ${name}:\n${describeViolations(violations)}`);
    assert.deepEqual(w.problems, [], `problems on ${name}`);
  };

  before(async () => {
    tmp = await tempDir('minato-e2e-ui-ca-');
    data = path.join(tmp, 'data');
    const config = path.join(tmp, 'minato.json');
    await writeFile(config, JSON.stringify({ data, tls: { mode: 'ca', ca: { names: ['localhost', '127.0.0.1'], includeHostname: false } }, log: { level: 'info', accessLog: false } }));
    serve = await spawnServe(['-c', config]);
    caPem = await readFile(path.join(data, 'ca', 'ca.crt'), 'utf8');
    browser = await launchBrowser();
    // chromium does not know the test's CA; the trust page is what a person would use to add it.
    w = await watchedPage(browser, { ignoreHTTPSErrors: true });
    page = w.page;
    await page.goto(`${serve.url}/system/certificates`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(serve.adminPassword!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Certificates', level: 1 }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test("the certificate page shows the served certificate's serial, names, issuer and days left", async () => {
    const cert = await served();
    const serial = page.getByTestId('serial');
    await serial.waitFor();
    assert.equal(hex(await serial.innerText()), hex(cert.serialNumber));
    await page.getByText('127.0.0.1', { exact: true }).waitFor();
    await page.getByText('localhost', { exact: true }).waitFor();
    const days = Math.floor((Date.parse(cert.validTo) - Date.now()) / 86_400_000);
    await page.getByText(new RegExp(`^${days} of \\d+ days left$`)).waitFor();
    await page.getByRole('link', { name: 'Trust this registry' }).waitFor();
    await page.getByText('ECDSA P-256', { exact: true }).waitFor();
    await page.getByText("the registry's own certificate authority", { exact: false }).waitFor();
    await checkPage('certificates');
  });

  test('renew now (an administrator) brings a new certificate, shown on the page', async () => {
    const before = hex((await served()).serialNumber);
    await page.getByRole('button', { name: 'Renew now' }).click();
    await page.getByRole('status').getByText('Renewal started').waitFor();
    let after = before;
    for (let i = 0; i < 40 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 250));
      after = hex((await served()).serialNumber);
    }
    assert.notEqual(after, before, 'the CA issued a new certificate');
    await page.reload();
    await page.getByTestId('serial').getByText(new RegExp(after.slice(-8), 'i')).waitFor();
    await checkPage('certificates-renewed');
  });

  test('the trust page: per-client commands, the fingerprint, and ca.crt to download', async () => {
    await page.getByRole('link', { name: 'Trust this registry' }).click();
    await page.getByRole('heading', { name: 'Trust this registry', level: 1 }).waitFor();
    const trust = (await request(`${serve.url}/api/v2.0/ca/trust`, { ca: caPem })).json();
    await page.getByText(trust.sha256_fingerprint, { exact: true }).waitFor();
    const host = new URL(serve.url).host;
    await page.getByText(`/etc/docker/certs.d/${host}/ca.crt`, { exact: false }).first().waitFor();
    await page.getByRole('heading', { name: 'Podman and skopeo' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'ca.crt', exact: true }).click()]);
    const file = path.join(tmp, 'ca.crt');
    await download.saveAs(file);
    assert.equal((await readFile(file, 'utf8')).trim(), caPem.trim());
    await checkPage('trust');
  });
});
