import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ListeningServer } from '../../runtime/server';
import { TOKEN, testRuntime, type TestRuntime } from '../server/support';
import { startAuthorizationServer, type TestAuthorizationServer } from '../support/oauthServer';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const screenshots = join(repoRoot, 'test/output/screenshots');


const skip = skipUnless(chromiumRequirement());

// The credentials dialog as a person uses it: forms, never JSON; an OAuth2 app connected through the provider's
// consent page in a popup, against oauth2-mock-server (a real authorization server on loopback).
describe.skipIf(skip)('the credentials dialog', () => {
  let outDir: string;
  let runtime: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;
  let authServer: TestAuthorizationServer;

  beforeAll(async () => {
    [outDir, authServer] = await Promise.all([buildEditor(), startAuthorizationServer()]);
    runtime = await testRuntime({ editorDir: outDir, allowHosts: ['127.0.0.1'] });
    server = await listen(runtime.runtime.app, { host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    await authServer?.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('adds a token and a username and password through the form, showing names and kinds, never values', async () => {
    const page = browser.page;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.setDefaultTimeout(15_000);
    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    await expect.poll(() => page.url()).not.toContain('token=');

    await button(page, 'Credentials').click();
    const dialog = page.getByRole('dialog', { name: 'Credentials' });
    await dialog.getByText('No credentials yet.').waitFor();

    // A name flows cannot use is refused before anything is sent.
    await dialog.getByLabel('Name', { exact: true }).fill('has space');
    await dialog.getByLabel('Token', { exact: true }).fill('ghp_browser-secret-token');
    await button(page, 'Add credential').click();
    await dialog.getByText(/must be 1-100 letters/).waitFor();

    await dialog.getByLabel('Name', { exact: true }).fill('github-issues');
    await button(page, 'Add credential').click();
    const row = dialog.getByRole('listitem', { name: 'Credential github-issues' });
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain('API token');
    // The secret went to the runtime, encrypted, and left the form.
    expect(await runtime.runtime.deps.credentials.resolve('github-issues')).toBe('ghp_browser-secret-token');
    expect(await dialog.getByLabel('Token', { exact: true }).inputValue()).toBe('');

    await dialog.getByLabel('Name', { exact: true }).fill('zendesk');
    await dialog.getByLabel('Kind', { exact: true }).selectOption('basic');
    await dialog.getByLabel('Username', { exact: true }).fill('agent@example.com/token');
    await dialog.getByLabel('Password', { exact: true }).fill('zendesk-api-token');
    await button(page, 'Add credential').click();
    await dialog.getByRole('listitem', { name: 'Credential zendesk' }).getByText('Username and password').waitFor();
    expect(await runtime.runtime.deps.credentials.resolveAuth('zendesk')).toEqual({ kind: 'basic', username: 'agent@example.com/token', password: 'zendesk-api-token' });

    // A taken name is the runtime's to refuse, next to the field.
    await dialog.getByLabel('Name', { exact: true }).fill('zendesk');
    await dialog.getByLabel('Username', { exact: true }).fill('other@example.com');
    await dialog.getByLabel('Password', { exact: true }).fill('other');
    await button(page, 'Add credential').click();
    await dialog.getByText(/a credential named "zendesk" exists/).waitFor();

    // Deleting asks once more.
    await dialog.getByRole('button', { name: 'Delete credential zendesk' }).click();
    await button(page, 'Delete zendesk').click();
    await dialog.getByRole('listitem', { name: 'Credential zendesk' }).waitFor({ state: 'detached' });

    const html = await page.content();
    expect(html).not.toContain('ghp_browser-secret-token');
    expect(html).not.toContain('zendesk-api-token');
    expect(errors).toEqual([]);
  });

  it('connects an OAuth2 app through the provider’s consent in a popup, and shows it connected', async () => {
    const page = browser.page;
    page.setDefaultTimeout(15_000);
    const dialog = page.getByRole('dialog', { name: 'Credentials' });
    if (!(await dialog.isVisible())) await button(page, 'Credentials').click();

    await dialog.getByLabel('Name', { exact: true }).fill('helpdesk');
    await dialog.getByLabel('Kind', { exact: true }).selectOption('oauth2');
    await dialog.getByLabel('Issuer URL', { exact: true }).fill(authServer.issuer);
    await dialog.getByLabel('Client ID', { exact: true }).fill('syncline-editor');
    await dialog.getByLabel('Client secret', { exact: true }).fill('editor-client-secret');
    await dialog.getByLabel('Scopes', { exact: true }).fill('tickets:read tickets:write');
    await dialog.getByText(`http://127.0.0.1:${server.port}/api/oauth/callback`).waitFor();

    const popupOpened = browser.context.waitForEvent('page');
    await button(page, 'Connect').click();
    const popup = await popupOpened;
    // The provider "signs the person in" and sends the popup back to the runtime's callback, which tells the editor.
    await dialog.getByText('The credential "helpdesk" is connected.').waitFor();
    const row = dialog.getByRole('listitem', { name: 'Credential helpdesk' });
    await expect.poll(() => row.textContent()).toContain('Connected');
    expect(await row.textContent()).toContain('OAuth2, signed in');
    expect(authServer.requests.at(-1)).toMatchObject({ grantType: 'authorization_code', clientId: 'syncline-editor' });
    expect(await runtime.runtime.deps.credentials.resolve('helpdesk')).toBe(authServer.issued.at(-1)!.accessToken);
    if (!popup.isClosed()) expect(popup.url()).toContain('/api/oauth/callback');
    mkdirSync(screenshots, { recursive: true });
    await dialog.screenshot({ path: join(screenshots, 'credentials.png') });
  });
});
