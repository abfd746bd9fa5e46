/**
 * Triggers set up in the editor as a person does it, with the runtime under `serve`'s API: a GitHub trigger whose token
 * and repository are chosen from dropdowns (the runtime lists the repositories from the GitHub fake), an http trigger
 * whose form writes `connection.baseUrl`, its paths and pages, and the webhook's `detect.idPath`/`typePath`, and a
 * Zendesk trigger with a custom field row and ticked user roles. The exported flow validates.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ListeningServer } from '../../runtime/server';
import { startGitHubFake, type GitHubFake } from '../fakes/github/server';
import { storeCredentials, testRuntime, TOKEN, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, choose, connect, dropNode, nameNode, panel } from './canvas';
import { buildEditor, launchBrowser, repoRoot, serveEditor, startEmptyFlow, type Browser } from './harness';

const run = promisify(execFile);
const screenshots = join(repoRoot, 'test/output/screenshots');
const githubToken = 'ghp_browser_forms_token';

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('connection forms in the editor, against the runtime', () => {
  let outDir: string;
  let github: GitHubFake;
  let runtime: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;
  let downloads: string;

  beforeAll(async () => {
    outDir = await buildEditor();
    github = await startGitHubFake({ tokens: { [githubToken]: 'octocat' } });
    // The runtime reaches the fake on loopback only because the operator allows it, as `serve --allow-hosts` would.
    runtime = await testRuntime({ editorDir: outDir, allowHosts: ['127.0.0.1'] });
    await storeCredentials(runtime, [
      ['github-token', 'token', githubToken],
      ['api-token', 'token', 'api-secret-token'],
      ['hook-secret', 'token', 'hook-secret-value'],
      ['zendesk-token', 'token', 'zendesk-api-token'],
    ]);
    server = await listen(runtime.runtime.app, { host: '127.0.0.1', port: 0 });
    browser = await launchBrowser({ width: 1600, height: 1000 });
    downloads = mkdtempSync(join(tmpdir(), 'syncline-downloads-'));
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    await github?.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  });

  it('sets up GitHub, http and Zendesk triggers from dropdowns, fields and rows, and the export validates', async () => {
    const page = browser.page;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.setDefaultTimeout(10_000);
    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    await startEmptyFlow(page);

    // GitHub: the token from the stored credentials, then the repository from those the token can see.
    await dropNode(page, 'Trigger', 40, 200);
    await nameNode(page, 'tracker');
    await choose(page, 'Connector', 'github');
    expect(await panel(page).getByLabel('Connection (JSON)').count()).toBe(0);
    await panel(page).getByLabel('API address').fill(github.url);
    await choose(page, 'GitHub token', 'github-token');
    await choose(page, 'Repository', 'octo-org/hello-world');
    expect(await panel(page).getByRole('combobox', { name: 'Repository' }).locator('option[value="octo-org/hello-world"]').textContent()).toBe('octo-org/hello-world (private)');
    expect(github.requests.count('GET /user/repos')).toBeGreaterThan(0);
    // The connection is complete, so the runtime describes it: the collection is offered.
    await panel(page).locator('datalist option[value="issues"]').waitFor({ state: 'attached' });
    await panel(page).getByLabel('Collection').fill('issues');
    await panel(page).getByLabel('Key field').fill('number');
    await panel(page).getByLabel('Updated-at field').fill('updated_at');
    await page.screenshot({ path: join(screenshots, 'connection-form-github.png') });

    // http: base URL, paths, pages, a bearer token, and webhook events whose id and type sit elsewhere.
    await dropNode(page, 'Trigger', 700, 200);
    await nameNode(page, 'api');
    await choose(page, 'Connector', 'http');
    expect(await panel(page).getByLabel('Connection (JSON)').count()).toBe(0);
    await panel(page).getByLabel('API base URL').fill('http://127.0.0.1:9/v2');
    await choose(page, 'Authentication', 'bearer');
    await choose(page, 'Token credential', 'api-token');
    await panel(page).getByLabel('List path').fill('/crm/contacts');
    await panel(page).getByLabel('Record path').fill('/crm/contacts/{id}');
    await choose(page, 'Pagination', 'cursor');
    await panel(page).getByLabel('Next cursor in the response at').fill('meta.next_cursor');
    await panel(page).getByLabel('Collection').fill('contacts');
    await panel(page).getByLabel('Updated-at field').fill('updated_at');
    await choose(page, 'Detect changes', 'webhook');
    await choose(page, 'Webhook secret credential', 'hook-secret');
    await panel(page).getByLabel('Record id in an event at').fill('data.object.id');
    await panel(page).getByLabel('Event type in an event at').fill('type');
    await page.screenshot({ path: join(screenshots, 'connection-form-http.png') });

    // Zendesk: an API token with its user's email, a custom field as a row, the users listed as ticks.
    await dropNode(page, 'Trigger', 40, 500);
    await nameNode(page, 'desk');
    await choose(page, 'Connector', 'zendesk');
    // A test's fake stands in for the account's address; no subdomain, so nothing reaches out of this machine.
    await panel(page).getByText('More connection options').click();
    await panel(page).getByLabel('API address').fill('http://127.0.0.1:9');
    await choose(page, 'Zendesk credential', 'zendesk-token');
    await panel(page).getByLabel('Email of the token’s user').fill('agent@example.com');
    await panel(page).getByRole('button', { name: 'Add name in the flow (Custom ticket fields)' }).click();
    await panel(page).getByLabel('Name in the flow 1 (Custom ticket fields)').fill('product');
    await panel(page).getByLabel('Ticket field id 1 (Custom ticket fields)').fill('360001234567');
    await panel(page).getByRole('group', { name: 'Roles of the users listed' }).getByLabel('End users').check();
    await panel(page).getByLabel('Collection').fill('tickets');

    await dropNode(page, 'Conflict', 370, 200);
    await nameNode(page, 'resolve');
    await connect(page, 'tracker', 'resolve');
    await connect(page, 'desk', 'resolve');
    await connect(page, 'resolve', 'api');
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(3);

    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
    await panel(page).waitFor({ state: 'detached' });
    await page.getByLabel('Flow id').fill('tracker-api');
    const [download] = await Promise.all([page.waitForEvent('download'), button(page, 'Export').click()]);
    const exported = join(downloads, download.suggestedFilename());
    await download.saveAs(exported);

    const document = JSON.parse(readFileSync(exported, 'utf8')) as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    const configOf = (id: string) => document.nodes.find((entry) => entry.id === id)?.config;
    expect(configOf('tracker')).toMatchObject({
      connector: 'github',
      connection: { auth: { credential: 'github-token' }, baseUrl: github.url, repo: 'octo-org/hello-world' },
      collection: 'issues',
      key: 'number',
      updatedAt: 'updated_at',
    });
    expect(configOf('api')).toMatchObject({
      connector: 'http',
      connection: {
        baseUrl: 'http://127.0.0.1:9/v2',
        auth: { type: 'bearer', token: { credential: 'api-token' } },
        list: { path: '/crm/contacts', pagination: { style: 'cursor', cursorPath: 'meta.next_cursor' } },
        item: { path: '/crm/contacts/{id}' },
      },
      detect: { mode: 'webhook', secret: { credential: 'hook-secret' }, idPath: 'data.object.id', typePath: 'type' },
    });
    expect(configOf('api')?.connection).not.toHaveProperty('url');
    expect(configOf('desk')).toMatchObject({
      connector: 'zendesk',
      connection: { baseUrl: 'http://127.0.0.1:9', auth: { credential: 'zendesk-token' }, email: 'agent@example.com', customFields: { product: 360001234567 }, userRoles: ['end-user'] },
    });

    // Valid for the command line (every connection checked by its connector) and for the runtime.
    const validated = await run(process.execPath, [join(repoRoot, 'bin/syncline.mjs'), 'validate', exported], { cwd: repoRoot }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect({ code: (validated as { code?: number }).code ?? 0, stdout: validated.stdout, stderr: validated.stderr }).toMatchObject({ code: 0, stderr: '' });
    const imported = await runtime.post('/api/flows', JSON.parse(readFileSync(exported, 'utf8')));
    expect(imported.status, await imported.clone().text()).toBe(201);
    expect(errors).toEqual([]);
  }, 120_000);

  it('keeps the built-in connectors’ forms without a runtime, and JSON for a connector without one', async () => {
    const offline = await serveEditor(outDir);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.setDefaultTimeout(10_000);
    try {
      await page.goto(offline.url);
      await startEmptyFlow(page);
      await dropNode(page, 'Trigger', 40, 200);
      await panel(page).getByLabel('Database file').waitFor();
      await choose(page, 'Connector', 'http');
      await panel(page).getByLabel('API base URL').fill('https://api.example.com/v1');
      await panel(page).getByRole('button', { name: 'Add parameter (Fixed query parameters)' }).click();
      await panel(page).getByLabel('Parameter 1 (Fixed query parameters)').fill('sort');
      await panel(page).getByLabel('Value 1 (Fixed query parameters)').fill('updated_at,id');
      // With no runtime to list them, a credential is named by typing.
      await choose(page, 'Authentication', 'bearer');
      await panel(page).getByRole('textbox', { name: 'Token credential' }).fill('api-token');
      expect(await panel(page).getByLabel('Connection (JSON)').count()).toBe(0);
      await choose(page, 'Connector', 'memory');
      await panel(page).getByLabel('Connection (JSON)').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await offline.close();
    }
  });
});
