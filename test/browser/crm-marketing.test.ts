/**
 * The "CRM ↔ marketing" template set up in the editor as a person does it, with the runtime under `serve`'s API and
 * the HubSpot and Mailchimp fakes behind it: started from the New flow dialog, its HubSpot trigger pointed at the
 * account with the credential chosen from a dropdown and the properties ticked from those the runtime lists from
 * HubSpot's properties API (a list-valued lookup), its Mailchimp trigger's audience chosen from those the account has.
 * No JSON is typed. The export validates on the command line and imports into the runtime. A flow written before the
 * properties took a list (names separated by commas) opens with its properties ticked, and is written as a list.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ListeningServer } from '../../runtime/server';
import { credentials, flowFor, startFakes, type CrmMarketingFakes } from '../e2e/crmMarketing';
import { storeCredentials, testRuntime, TOKEN, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, choose, node, panel, selectNode } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const run = promisify(execFile);
const screenshots = join(repoRoot, 'test/output/screenshots');
const templateTitle = 'CRM ↔ marketing: HubSpot ↔ Mailchimp';
const templateProperties = ['email', 'firstname', 'lastname', 'lifecyclestage', 'mailchimp_status'];

const properties = (page: Page) => panel(page).getByRole('group', { name: 'Properties to sync' });

/** The names of the ticked properties, in the order the form shows them (the order of the document). */
async function ticked(page: Page): Promise<string[]> {
  const names: string[] = [];
  for (const box of await properties(page).getByRole('checkbox', { checked: true }).all()) {
    const label = (await box.evaluate((input) => (input as HTMLInputElement).labels?.[0]?.textContent ?? '')) || '';
    names.push(/\(([^)]+)\)$/.exec(label)?.[1] ?? label);
  }
  return names;
}

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the CRM ↔ marketing template in the editor, against the runtime', () => {
  let outDir: string;
  let fakes: CrmMarketingFakes;
  let runtime: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;
  let downloads: string;

  beforeAll(async () => {
    outDir = await buildEditor();
    fakes = await startFakes();
    // The runtime reaches the fakes on loopback only because the operator allows it, as `serve --allow-hosts` would.
    runtime = await testRuntime({ editorDir: outDir, allowHosts: ['127.0.0.1'] });
    await storeCredentials(runtime, [
      [credentials.hubspotToken, 'token', fakes.hubspot.tokens.privateApp],
      [credentials.hubspotClientSecret, 'webhook-secret', fakes.hubspot.webhooks.clientSecret],
      [credentials.mailchimpKey, 'token', fakes.mailchimp.apiKey],
      [credentials.mailchimpWebhookSecret, 'token', 'a-secret-for-the-mailchimp-hook-url'],
    ]);
    server = await listen(runtime.runtime.app, { host: '127.0.0.1', port: 0 });
    browser = await launchBrowser({ width: 1600, height: 1000 });
    downloads = mkdtempSync(join(tmpdir(), 'syncline-downloads-'));
    mkdirSync(screenshots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    await fakes?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  async function openEditor(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.setDefaultTimeout(15_000);
    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    return { page, errors };
  }

  async function exported(page: Page): Promise<{ file: string; document: { id: string; nodes: Array<{ id: string; config: Record<string, unknown> & { connection: Record<string, unknown> } }> } }> {
    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
    const [download] = await Promise.all([page.waitForEvent('download'), button(page, 'Export').click()]);
    const file = join(downloads, `${Date.now()}-${download.suggestedFilename()}`);
    await download.saveAs(file);
    return { file, document: JSON.parse(readFileSync(file, 'utf8')) };
  }

  it('starts from the template and points both triggers at the accounts from dropdowns and ticks; the export validates and imports', async () => {
    const { page, errors } = await openEditor();
    await button(page, 'New flow').click();
    await page.getByRole('dialog', { name: 'New flow' }).getByRole('button', { name: templateTitle, exact: true }).click();
    for (const id of ['hubspot', 'contact-fields', 'contact-email', 'resolve', 'member-shape', 'member-fields', 'mailchimp']) await node(page, id).waitFor();

    // HubSpot: the account's address (a test's fake stands in for api.hubapi.com), the token from the stored
    // credentials; the template's properties show ticked, and the others the account has are listed to tick.
    await selectNode(page, 'hubspot');
    await panel(page).getByText('More connection options').click();
    await panel(page).getByLabel('API address').fill(fakes.hubspot.url);
    await choose(page, 'HubSpot credential', credentials.hubspotToken);
    const phone = properties(page).getByRole('checkbox', { name: 'Phone Number (phone)', exact: true });
    await phone.waitFor();
    expect(await ticked(page)).toEqual(templateProperties);
    expect(await properties(page).getByRole('checkbox', { name: 'Mailchimp status (mailchimp_status)', exact: true }).isChecked()).toBe(true);
    // A filter narrows the list; ticking adds the property last.
    await properties(page).getByLabel('Find in properties to sync').fill('job');
    await expect.poll(() => properties(page).getByRole('checkbox', { checked: false }).count()).toBe(1);
    await properties(page).getByRole('checkbox', { name: 'Job Title (jobtitle)', exact: true }).check();
    await properties(page).getByLabel('Find in properties to sync').fill('');
    await phone.check();
    await expect.poll(() => ticked(page)).toEqual([...templateProperties, 'jobtitle', 'phone']);
    // Unticked, a property leaves the list and is offered again.
    await properties(page).getByRole('checkbox', { name: 'Job Title (jobtitle)', exact: true }).uncheck();
    await expect.poll(() => ticked(page)).toEqual([...templateProperties, 'phone']);
    expect(fakes.hubspot.countRequests('GET /crm/v3/properties/{objectType}')).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshots, 'crm-marketing-hubspot-properties.png') });

    // Mailchimp: the API address (in place of the key's data center), the key, then the audience from the account's.
    await selectNode(page, 'mailchimp');
    await panel(page).getByText('More connection options').click();
    await panel(page).getByLabel('API address').fill(fakes.mailchimp.url);
    await choose(page, 'Mailchimp API key or OAuth token', credentials.mailchimpKey);
    await choose(page, 'Audience', fakes.mailchimp.list.id);
    await page.screenshot({ path: join(screenshots, 'crm-marketing-mailchimp.png') });
    await expect.poll(() => page.locator('.sl-statusbar').textContent()).toContain('Issues (0 errors');

    const { file, document } = await exported(page);
    const configOf = (id: string) => document.nodes.find((entry) => entry.id === id)?.config;
    expect(configOf('hubspot')?.connection).toEqual({ auth: { credential: credentials.hubspotToken }, properties: [...templateProperties, 'phone'], baseUrl: fakes.hubspot.url });
    expect(configOf('mailchimp')?.connection).toEqual({ list: fakes.mailchimp.list.id, auth: { credential: credentials.mailchimpKey }, baseUrl: fakes.mailchimp.url });

    // Valid for the command line (every connection checked by its connector) and for the runtime.
    const validated = await run(process.execPath, [join(repoRoot, 'bin/syncline.mjs'), 'validate', file], { cwd: repoRoot }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect({ code: (validated as { code?: number }).code ?? 0, stderr: validated.stderr }).toEqual({ code: 0, stderr: '' });
    const imported = await runtime.post('/api/flows', document);
    expect(imported.status, await imported.clone().text()).toBe(201);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('opens a flow that names the properties as text with them ticked, adds one by name, and writes a list', async () => {
    const legacy = flowFor(fakes) as unknown as { id: string; name: string; nodes: Array<{ id: string; config: { connection?: Record<string, unknown> } }> };
    legacy.id = 'crm-legacy';
    legacy.name = 'CRM, properties as text';
    const hubspotNode = legacy.nodes.find((entry) => entry.id === 'hubspot') as { config: { connection: Record<string, unknown> } };
    hubspotNode.config.connection = { ...hubspotNode.config.connection, properties: templateProperties.join(', ') };
    const stored = await runtime.post('/api/flows', legacy);
    expect(stored.status, await stored.clone().text()).toBe(201);

    const { page, errors } = await openEditor();
    await page.getByRole('row', { name: legacy.name, exact: true }).getByRole('button', { name: legacy.name, exact: true }).click();
    await selectNode(page, 'hubspot');
    await properties(page).getByRole('checkbox', { name: 'Phone Number (phone)', exact: true }).waitFor();
    expect(await ticked(page)).toEqual(templateProperties);
    // A property the runtime has not listed (created in HubSpot a moment ago) is added by its internal name.
    fakes.hubspot.defineProperty('contacts', { name: 'favourite_colour', label: 'Favourite colour', type: 'string' });
    const add = properties(page).getByLabel('Add to properties to sync by name');
    await add.fill('jobtitle, favourite_colour');
    await add.press('Enter');
    await expect.poll(() => ticked(page)).toEqual([...templateProperties, 'jobtitle', 'favourite_colour']);
    expect(await add.inputValue()).toBe('');

    const { document } = await exported(page);
    expect(document.nodes.find((entry) => entry.id === 'hubspot')?.config.connection.properties).toEqual([...templateProperties, 'jobtitle', 'favourite_colour']);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
