/**
 * The "HR ↔ learning" template opened in the editor as a person does it, with the runtime under `serve`'s API and the
 * BambooHR and Moodle fakes behind it: started from the New flow dialog, its BambooHR trigger pointed at the company
 * with the API key chosen from a dropdown, its Moodle enrolments trigger with the token chosen from a dropdown, the
 * record shape and the delete behaviour shown as dropdowns, and the courses ticked from those the runtime lists from
 * the site. No JSON is typed.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ListeningServer } from '../../runtime/server';
import { credentials, departmentCourses, startFakes, type HrLearningFakes } from '../e2e/hrLearning';
import { storeCredentials, testRuntime, TOKEN, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, choose, dropdown, node, panel, selectNode } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const screenshots = join(repoRoot, 'test/output/screenshots');
const templateTitle = 'HR ↔ learning: BambooHR ↔ Moodle';

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the HR ↔ learning template in the editor, against the runtime', () => {
  let outDir: string;
  let fakes: HrLearningFakes;
  let runtime: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;

  beforeAll(async () => {
    outDir = await buildEditor();
    fakes = await startFakes();
    // The runtime reaches the fakes on loopback only because the operator allows it, as `serve --allow-hosts` would.
    runtime = await testRuntime({ editorDir: outDir, allowHosts: ['127.0.0.1'] });
    await storeCredentials(runtime, [
      [credentials.bamboohrKey, 'token', fakes.bamboohr.apiKey],
      [credentials.bamboohrWebhookKey, 'webhook-secret', 'replaced-by-the-key-bamboohr-makes'],
      [credentials.moodleToken, 'token', fakes.moodle.token],
    ]);
    server = await listen(runtime.runtime.app, { host: '127.0.0.1', port: 0 });
    browser = await launchBrowser({ width: 1600, height: 1000 });
    mkdirSync(screenshots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    await fakes?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('opens the template and points both systems at their accounts from dropdowns; the courses are ticked from the site', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.setDefaultTimeout(15_000);
    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    await button(page, 'New flow').click();
    await page.getByRole('dialog', { name: 'New flow' }).getByRole('button', { name: templateTitle, exact: true }).click();
    for (const id of ['bamboohr', 'employee-fields', 'people', 'user-fields', 'moodle-users', 'department-course', 'has-course', 'moodle-enrolments']) await node(page, id).waitFor();

    // BambooHR: the company's API address (a test's fake stands in for acme.bamboohr.com) and the key from the stored
    // credentials; the template's fields stay as they are.
    await selectNode(page, 'bamboohr');
    await panel(page).getByLabel('Company subdomain', { exact: true }).fill('');
    await panel(page).getByText('More connection options').click();
    await panel(page).getByLabel('API address', { exact: true }).fill(fakes.bamboohr.url);
    await choose(page, 'BambooHR API key', credentials.bamboohrKey);
    expect(await panel(page).getByLabel('Employee fields', { exact: true }).inputValue()).toBe('firstName, lastName, workEmail, department, status');

    // Moodle users: the site and its token.
    await selectNode(page, 'moodle-users');
    await panel(page).getByLabel('Site address').fill(fakes.moodle.url);
    await choose(page, 'Web-service token', credentials.moodleToken);
    expect(await dropdown(page, 'A user deleted by the sync').inputValue()).toBe('suspend');

    // Moodle enrolments: a record per person, and the site's courses offered to tick in place of the template's
    // example ids.
    await selectNode(page, 'moodle-enrolments');
    await panel(page).getByLabel('Site address').fill(fakes.moodle.url);
    await choose(page, 'Web-service token', credentials.moodleToken);
    expect(await dropdown(page, 'Enrolment records').inputValue()).toBe('one-per-user');
    expect(await dropdown(page, 'Enrolment records').locator('option').allTextContents()).toEqual([
      'Default: one per person and course (key course:user)',
      'one per person and course (key course:user)',
      'one per person, in one of the courses: a changed course moves them (key: user id)',
    ]);
    const courses = panel(page).getByRole('group', { name: 'Courses (enrolments)' });
    for (const { department } of departmentCourses) {
      const course = fakes.courses.get(department)!;
      await courses.getByRole('checkbox', { name: `${course.fullname} (${course.id})`, exact: true }).check();
    }
    // Unticked, an example id the site does not have leaves the list (it is not among the choices to tick again).
    for (const { courseid } of departmentCourses) {
      const example = courses.getByRole('checkbox', { name: String(courseid), exact: true });
      await example.click();
      await example.waitFor({ state: 'detached' });
    }
    await expect.poll(async () => courses.getByRole('checkbox', { checked: true }).count()).toBe(departmentCourses.length);
    await page.screenshot({ path: join(screenshots, 'hr-learning-moodle-enrolments.png') });
    await expect.poll(() => page.locator('.sl-statusbar').textContent()).toContain('Issues (0 errors');
    expect(fakes.moodle.countRequests('core_course_get_courses')).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
