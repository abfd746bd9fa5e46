import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auth, TOKEN, testRuntime, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => t?.close());

describe('auth, CORS and the editor', () => {
  it('serves /health without a token', async () => {
    t = await testRuntime();
    const response = await t.request('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it.each([
    ['GET', '/api/flows'],
    ['POST', '/api/flows'],
    ['GET', '/api/flows/x'],
    ['PUT', '/api/flows/x'],
    ['DELETE', '/api/flows/x'],
    ['POST', '/api/flows/x/deploy'],
    ['POST', '/api/flows/x/pause'],
    ['POST', '/api/flows/x/run'],
    ['POST', '/api/flows/x/dry-run'],
    ['GET', '/api/flows/x/runs'],
    ['GET', '/api/runs/x'],
    ['GET', '/api/conflicts'],
    ['POST', '/api/conflicts/x/resolve'],
    ['GET', '/api/flows/x/failing'],
    ['POST', '/api/flows/x/failing/retry'],
    ['GET', '/api/flows/x/status'],
    ['GET', '/api/connectors'],
    ['POST', '/api/connectors/describe'],
    ['GET', '/api/credentials'],
    ['POST', '/api/credentials'],
    ['DELETE', '/api/credentials/x'],
    ['PUT', '/api/flows/x/alert'],
    ['GET', '/api/openapi.json'],
    ['GET', '/metrics'],
  ])('%s %s needs the token', async (method, path) => {
    t = await testRuntime();
    const before = await t.snapshot();
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }];
    for (const headers of attempts) {
      const response = await t.request(`${path}?token=${TOKEN}`, { method, headers });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(/token/);
    }
    expect(await t.snapshot()).toBe(before);
  });

  it('serves /metrics without the token when told to', async () => {
    t = await testRuntime({ metricsPublic: true });
    expect((await t.request('/metrics')).status).toBe(200);
    expect((await t.request('/api/flows')).status).toBe(401);
  });

  it('allows CORS only for its own origin and configured ones', async () => {
    t = await testRuntime({ corsOrigins: ['http://localhost:5173'] });
    const preflight = (origin: string) =>
      t.request('http://127.0.0.1:4777/api/flows', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight('http://127.0.0.1:4777')).headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:4777');
    expect((await preflight('http://localhost:5173')).headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('serves the editor at / and its client routes, keeping JSON 404s for the API', async () => {
    const editorDir = mkdtempSync(join(tmpdir(), 'syncline-editor-'));
    writeFileSync(join(editorDir, 'index.html'), '<!doctype html><title>Syncline</title>');
    writeFileSync(join(editorDir, 'app.js'), 'console.log(1)');
    t = await testRuntime({ editorDir });
    const page = await t.request('/?token=abc');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Syncline</title>');
    expect((await t.request('/app.js')).headers.get('content-type')).toMatch(/javascript/);
    expect(await (await t.request('/flows/leads')).text()).toContain('<title>Syncline</title>');
    const missing = await t.request('/api/nothing', { headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('says how to build the editor when it is not built', async () => {
    t = await testRuntime({ editorDir: join(tmpdir(), 'no-such-editor') });
    const page = await t.request('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/npm run build/);
  });
});
