// The web UI in Debian's chromium against a real `minato serve`: sign in (wrong password and
// robots refused in words), create a project, push a multi-arch image and an image with skopeo,
// see their tags, platforms, layers and config, create a robot and pull with its secret through
// skopeo, delete a tag and see it gone through the registry API, read the audit log, change the
// password. On every page: axe-core finds no serious or critical violation, and the page logs no
// error or warning. MINATO_UI_SCREENSHOTS=<dir> keeps screenshots of the key pages (docs/ui/).
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { describeViolations, launchBrowser, seriousViolations, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { request } from '../helpers/http.js';
import { makeOciIndexLayout, makeOciLayout, type OciIndexLayout, type OciLayout } from '../helpers/oci.js';
import { run } from '../helpers/peers.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

const SHOTS = process.env.MINATO_UI_SCREENSHOTS;

describe('the web UI, end to end', () => {
  let tmp: string;
  let serve: ServeProcess;
  let browser: Browser;
  let w: WatchedPage;
  let page: Page;
  let host: string;
  let password: string;
  let multi: OciIndexLayout;
  let image: OciLayout;
  let robot: { name: string; secret: string };

  const basic = () => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  const api = (p: string) => request(`${serve.url}/api/v2.0${p}`, { headers: { Authorization: basic() } });
  const skopeo = (...args: string[]) => run('skopeo', args, { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') }, timeoutMs: 60_000 });

  /** The checks every page must pass, then an optional screenshot. */
  const checkPage = async (name: string) => {
    await page.waitForLoadState('networkidle');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], `axe on ${name}:\n${describeViolations(violations)}`);
    assert.deepEqual(w.problems, [], `problems on ${name}`);
  };

  before(async () => {
    tmp = await tempDir('minato-e2e-ui-');
    if (SHOTS) await mkdir(SHOTS, { recursive: true });
    serve = await spawnServe(['--data', path.join(tmp, 'data')], { MINATO_PROJECTS_AUTO_CREATE: 'false' });
    host = new URL(serve.url).host;
    password = serve.adminPassword!;
    assert.ok(password, 'the first start prints the admin password');
    multi = await makeOciIndexLayout(path.join(tmp, 'multi'), 'v1');
    image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 8 * 1024);
    browser = await launchBrowser();
    w = await watchedPage(browser);
    page = w.page;
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('sign-in: a wrong password and a robot are refused in words; the admin gets in', async () => {
    await page.goto(`${serve.url}/projects`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/user name or the password is wrong/).waitFor();
    w.problems.length = 0; // the browser logs the 401 it was answered, which is the point here
    await page.getByLabel('User name').fill('robot$shop+ci');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/Robot accounts cannot sign in/).waitFor();
    await checkPage('login');
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/projects', 'back at the page that asked for the sign-in');
  });

  test('create a project from the projects page; the API sees it', async () => {
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Project name').fill('shop');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: /^shop/, level: 1 }).waitFor();
    const res = await api('/projects/shop');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().metadata.public, 'false');
  });

  test('push with skopeo, then see the tags, platforms and layers of a multi-arch image', async () => {
    const creds = `admin:${password}`;
    for (const [src, dest, all] of [
      [multi.ref, 'shop/web:v1', true],
      [image.ref, 'shop/app:v1', false],
      [image.ref, 'shop/app:old', false],
    ] as const) {
      const r = await skopeo('copy', ...(all ? ['--all'] : []), '--dest-tls-verify=false', '--dest-creds', creds, src, `docker://${host}/${dest}`);
      assert.equal(r.code, 0, r.stderr);
    }
    await page.goto(`${serve.url}/projects`);
    await page.getByRole('row', { name: /shop private 2/ }).waitFor();
    await checkPage('projects');
    // The dark theme (the system's setting) passes the same checks, contrast included.
    await page.emulateMedia({ colorScheme: 'dark' });
    await checkPage('projects-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('link', { name: 'shop/web' }).waitFor();
    await page.getByRole('link', { name: 'shop/app' }).waitFor();
    await checkPage('project-repositories');

    await page.getByRole('link', { name: 'shop/web' }).click();
    await page.getByRole('heading', { name: 'shop/web' }).waitFor();
    const item = page.locator('li.artifact').first();
    await item.locator('.tag-name', { hasText: /^v1$/ }).waitFor();
    await item.getByText('linux/amd64, linux/arm64').waitFor();
    await item.getByRole('button', { name: /^Details/ }).click();
    await item.getByText(`docker pull ${host}/shop/web@${multi.indexDigest}`).waitFor();
    await item.getByRole('button', { name: 'Layers of linux/arm64' }).click();
    const arm = multi.images['linux/arm64']!;
    await item.getByRole('cell', { name: `sha256:${arm.layerDigest.slice(7, 19)}` }).waitFor();
    await checkPage('artifacts-multi-arch');
  });

  test('an image shows its layers with sizes and its config', async () => {
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('link', { name: 'shop/app' }).click();
    const item = page.locator('li.artifact').first();
    await item.locator('.tag-name', { hasText: /^old$/ }).waitFor();
    await item.getByRole('button', { name: /^Details/ }).click();
    await item.getByRole('heading', { name: 'Layers' }).waitFor();
    const layers = await api(`/projects/shop/repositories/app/artifacts/v1/additions/layers`);
    assert.equal(layers.status, 200, layers.text);
    const [layer] = layers.json() as Array<{ digest: string; size: number }>;
    await item.getByRole('cell', { name: `sha256:${layer!.digest.slice(7, 19)}` }).waitFor();
    await item.getByRole('heading', { name: 'Configuration' }).waitFor();
    await item.getByText('linux/amd64').first().waitFor();
    // Trust and scanning: no policy in this project, nothing attached, never scanned.
    await item.getByRole('heading', { name: 'Signatures' }).waitFor();
    await item.getByText('The project requires no signature.').waitFor();
    await item.getByText('Nothing is attached to this artifact.').waitFor();
    await item.locator('.fact', { hasText: 'Vulnerabilities' }).getByText('not scanned').waitFor();
    await checkPage('artifacts-image');
  });

  test('create a robot: the secret is shown once with the docker login line; skopeo pulls with it', async () => {
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('link', { name: 'Robot accounts' }).click();
    await page.getByLabel('Name', { exact: true }).fill('puller');
    await page.getByLabel('Expires after (days; -1: never)').fill('7');
    await page.getByRole('button', { name: 'Create robot account' }).click();
    const panel = page.locator('section.secret');
    await panel.getByText('it is shown only this once').waitFor();
    const codes = await panel.locator('code').allTextContents();
    robot = { name: codes[0]!, secret: codes[1]! };
    assert.equal(robot.name, 'robot$shop+puller');
    assert.match(codes[2]!, new RegExp(`docker login ${host.replace(/\./g, '\\.')} -u 'robot\\$shop\\+puller' --password-stdin`));
    await checkPage('robot-secret');

    const pulled = await skopeo('copy', '--src-tls-verify=false', '--src-creds', `${robot.name}:${robot.secret}`, `docker://${host}/shop/app:v1`, `oci:${path.join(tmp, 'pulled')}:v1`);
    assert.equal(pulled.code, 0, pulled.stderr);
    // Without push permission, the same secret cannot push.
    const pushed = await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `${robot.name}:${robot.secret}`, image.ref, `docker://${host}/shop/app:robot`);
    assert.notEqual(pushed.code, 0, 'a pull-only robot cannot push');

    // The Kubernetes pull secret downloads as a file.
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Download the Kubernetes pull secret' }).click()]);
    assert.equal(download.suggestedFilename(), 'shop+puller-pull-secret.yaml'.replace('+', '-'));
    const file = path.join(tmp, 'secret.yaml');
    await download.saveAs(file);
    const secret = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8')));
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
    await panel.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('row', { name: /robot\$shop\+puller/ }).waitFor();
  });

  test("refresh a robot's secret (the old one stops working), then disable it", async () => {
    const inspect = (secret: string) => skopeo('inspect', '--tls-verify=false', '--creds', `${robot.name}:${secret}`, `docker://${host}/shop/app:v1`);
    await page.getByRole('button', { name: `Refresh secret of ${robot.name}` }).click();
    const panel = page.locator('section.secret');
    await panel.getByText('it is shown only this once').waitFor();
    const fresh = (await panel.locator('code').allTextContents())[1]!;
    assert.notEqual(fresh, robot.secret);
    assert.equal((await inspect(fresh)).code, 0, 'the new secret works');
    // The server drops cached logins within its credential cache time; the old secret must fail by then.
    let old = await inspect(robot.secret);
    for (let i = 0; i < 20 && old.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      old = await inspect(robot.secret);
    }
    assert.notEqual(old.code, 0, 'the old secret no longer works');
    await panel.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('button', { name: `Disable ${robot.name}` }).click();
    await page.getByRole('row', { name: /robot\$shop\+puller.*disabled/ }).waitFor();
    let disabled = await inspect(fresh);
    for (let i = 0; i < 20 && disabled.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      disabled = await inspect(fresh);
    }
    assert.notEqual(disabled.code, 0, 'a disabled robot signs in to nothing');
  });

  test('delete a tag after a confirmation; the registry API no longer lists it', async () => {
    await page.getByRole('link', { name: 'Repositories' }).click();
    await page.getByRole('link', { name: 'shop/app' }).click();
    await page.getByRole('button', { name: 'Delete tag old' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the tag old?' });
    await dialog.getByText('shop/app:old').waitFor();
    await dialog.getByRole('button', { name: 'Delete tag old' }).click();
    await page.locator('li.artifact .tag-name', { hasText: /^old$/ }).waitFor({ state: 'detached' });
    const tags = await request(`${serve.url}/v2/shop/app/tags/list`, { headers: { Authorization: basic() } });
    assert.equal(tags.status, 200, tags.text);
    assert.deepEqual(tags.json().tags, ['v1']);
    await checkPage('artifacts-after-delete');
  });

  test('the audit log shows what was done, and filters by operation', async () => {
    await page.getByRole('link', { name: 'Audit log' }).first().click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByRole('cell', { name: /shop\/app:old/ }).first().waitFor();
    await page.getByRole('cell', { name: /^project shop$/ }).first().waitFor();
    await page.getByLabel('Operation').selectOption('delete');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('cell', { name: /^project shop$/ }).first().waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: /shop\/app:old/ }).first().waitFor();
    await checkPage('audit-log');
  });

  test('users and members: create a user, add them to the project, change their role, remove them', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'New user' }).click();
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Email').fill('bob@example.com');
    await page.getByLabel(/^Password/).fill('Bob-passw0rd');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('row', { name: /bob bob@example\.com/ }).waitFor();
    await checkPage('users');

    await page.goto(`${serve.url}/projects/shop/members`);
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    const form = page.getByRole('form', { name: 'Add a member' });
    // Typing part of a name offers the users that match (Harbor's user search).
    await form.getByLabel('User name').fill('bo');
    await page.locator('#member-suggestions option[value="bob"]').waitFor({ state: 'attached' });
    await form.getByLabel('User name').fill('bob');
    await form.getByLabel('Role').selectOption({ label: 'Developer' });
    await form.getByRole('button', { name: 'Add member' }).click();
    await page.getByLabel('Role of bob').waitFor();
    const memberRole = async () => ((await api('/projects/shop/members')).json() as Array<{ entity_name: string; role_id: number }>).find((m) => m.entity_name === 'bob')?.role_id;
    assert.equal(await memberRole(), 2);
    await page.getByLabel('Role of bob').selectOption({ label: 'Maintainer' });
    await page.getByRole('status').getByText('bob is now Maintainer.').waitFor();
    assert.equal(await memberRole(), 4);
    await checkPage('members');
    await page.getByRole('button', { name: 'Remove bob from shop' }).click();
    await page.getByRole('dialog', { name: 'Remove bob?' }).getByRole('button', { name: 'Remove member' }).click();
    await page.getByLabel('Role of bob').waitFor({ state: 'detached' });
    assert.equal(await memberRole(), undefined);

    // The remaining pages pass the same checks.
    for (const [p, heading] of [
      ['/projects/shop/quota', 'Quota'],
      ['/projects/shop/logs', 'Audit log of shop'],
      ['/system/certificates', 'Certificates'],
      ['/system/trust', 'Trust this registry'],
      ['/system/nothing', 'Page not found'],
    ] as const) {
      await page.goto(serve.url + p);
      await page.getByRole('heading', { name: heading }).first().waitFor();
      await checkPage(p.slice(1).replace(/\//g, '-'));
    }
  });

  test("project settings: scanning, the vulnerability gate and signatures are set in Harbor's metadata keys", async () => {
    await page.goto(`${serve.url}/projects/shop/settings`);
    const form = page.getByRole('form', { name: 'Project settings' });
    await form.getByLabel('Scan images on push').check();
    await form.getByLabel('Prevent vulnerable images from being pulled').check();
    await form.getByLabel('Severity that blocks a pull').selectOption({ label: 'High and above' });
    await form.getByLabel('Require a valid cosign signature').check();
    await form.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').getByText(/^Saved/).waitFor();
    const meta = ((await api('/projects/shop')).json() as { metadata: Record<string, string> }).metadata;
    assert.deepEqual(
      [meta.auto_scan, meta.prevent_vul, meta.severity, meta.enable_content_trust_cosign, meta.enable_content_trust, meta.public],
      ['true', 'true', 'high', 'true', 'false', 'false'],
    );
    // Read back on a fresh load.
    await page.reload();
    assert.equal(await page.getByRole('form', { name: 'Project settings' }).getByLabel('Scan images on push').isChecked(), true);
    await checkPage('project-settings');
    // Off again: the pages the next tests open read the project's images.
    const off = { auto_scan: 'false', prevent_vul: 'false', enable_content_trust_cosign: 'false' };
    assert.equal((await request(`${serve.url}/api/v2.0/projects/shop`, { method: 'PUT', headers: { Authorization: basic(), 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: off }) })).status, 200);
  });

  test('every page is readable at 375 px wide', async () => {
    const phone = await watchedPage(browser, { viewport: { width: 375, height: 800 } });
    await phone.context.addCookies(await w.context.cookies());
    for (const p of ['/projects', '/projects/shop/repositories/app', '/projects/shop/robots', '/system/certificates', '/account']) {
      await phone.page.goto(serve.url + p, { waitUntil: 'networkidle' });
      const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${p} is ${overflow} px wider than the screen`);
    }
    if (SHOTS) {
      await phone.page.goto(`${serve.url}/projects/shop/repositories/web`, { waitUntil: 'networkidle' });
      await phone.page.screenshot({ path: path.join(SHOTS, 'narrow-artifacts.png'), fullPage: true });
    }
    assert.deepEqual(phone.problems, []);
    await phone.context.close();
  });

  test('change your own password; the old one stops working', async () => {
    await page.getByRole('link', { name: 'admin' }).click();
    await page.getByLabel('Current password').fill(password);
    await page.getByLabel('New password', { exact: true }).fill('New-passw0rd-ui');
    await page.getByLabel('New password again').fill('New-passw0rd-ui');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').getByText('Your password is changed').waitFor();
    await checkPage('account');
    const old = password;
    password = 'New-passw0rd-ui';
    assert.equal((await api('/users/current')).status, 200);
    const refused = await request(`${serve.url}/api/v2.0/users/current`, { headers: { Authorization: `Basic ${Buffer.from(`admin:${old}`).toString('base64')}` } });
    assert.equal(refused.status, 401);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to minato' }).waitFor();
    assert.equal((await page.context().cookies()).find((c) => c.name === 'sid')?.value ?? '', '');
  });
});
