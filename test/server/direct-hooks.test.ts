import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { signBody } from '../../runtime/webhooks/signature';
import { contacts, deployPeople, eventually, listenOnLoopback, SECRET, testRuntime, upsertPerson, type TestRuntime } from './support';

// The server takes webhooks straight to receiveWebhook, around the Hono app; these check that it answers exactly as
// the app does, and leaves to the app what only the app handles.
let t: TestRuntime;
let server: Awaited<ReturnType<typeof listenOnLoopback>>;
let viaApp: MockInstance;
afterEach(async () => {
  await server?.close();
  await t?.close();
});

async function start(): Promise<string> {
  t = await testRuntime();
  await deployPeople(t);
  viaApp = vi.spyOn(t.runtime.app, 'fetch');
  server = await listenOnLoopback(t);
  return server.base;
}

/** The same request through the listening server and through the app, as status and parsed body. */
async function both(base: string, path: string, body: string, headers: Record<string, string>): Promise<Array<{ status: number; body: unknown }>> {
  const answers = [];
  for (const send of [(init: RequestInit) => fetch(`${base}${path}`, init), (init: RequestInit) => t.request(path, init)]) {
    const response = await send({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    answers.push({ status: response.status, body: await response.json() });
  }
  return answers;
}

describe('webhooks taken directly by the server', () => {
  it('store and sync a signed event', async () => {
    const base = await start();
    const id = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const body = JSON.stringify({ type: 'upsert', id: String(id) });
    const response = await fetch(`${base}/hooks/people/a?source=crm`, { method: 'POST', headers: { 'x-syncline-signature': signBody(SECRET, body) }, body });
    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ accepted: 1, duplicate: false });
    await eventually(() => expect(contacts(t.dir).map((contact) => contact.email)).toEqual(['ada@example.com']));
    expect(viaApp).not.toHaveBeenCalled();
  });

  it('answer every outcome as the app does', async () => {
    const base = await start();
    const body = JSON.stringify({ type: 'upsert', id: '1' });
    const signed = (delivery: string) => ({ 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': delivery });
    const cases: Array<[string, string, Record<string, string>]> = [
      ['/hooks/people/a', body, {}],
      ['/hooks/people/a', body, { 'x-syncline-signature': signBody('wrong', body) }],
      ['/hooks/people/nope', body, signed('d0')],
      ['/hooks/nope/a', body, signed('d1')],
      ['/hooks/people/a', '{"type":"upsert"}', { 'x-syncline-signature': signBody(SECRET, '{"type":"upsert"}') }],
      ['/hooks/people/a', body, { ...signed('d2'), 'x-syncline-delivery': 'x'.repeat(201) }],
      ['/hooks/bad%ZZid/a', body, signed('d3')],
      ['/hooks/people/a/', body, signed('d4')],
    ];
    for (const [path, payload, headers] of cases) {
      const [direct, app] = await both(base, path, payload, headers);
      expect(direct, path).toEqual(app);
    }
    // A delivery id is taken once, by whichever path saw it first.
    const [first, again] = await both(base, '/hooks/people/a', body, signed('d5'));
    expect([first?.body, again?.body]).toEqual([
      { accepted: 1, duplicate: false },
      { accepted: 0, duplicate: true },
    ]);
  });

  it('leave oversized and chunked bodies to the app', async () => {
    const base = await start();
    const huge = 'x'.repeat(1024 * 1024 + 1);
    const tooLarge = await fetch(`${base}/hooks/people/a`, { method: 'POST', body: huge });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');

    const id = upsertPerson(t.dir, { name: 'Grace Hopper', email: 'grace@example.com' });
    const body = JSON.stringify({ type: 'upsert', id: String(id) });
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${base}/hooks/people/a`, { method: 'POST', headers: { 'x-syncline-signature': signBody(SECRET, body), 'transfer-encoding': 'chunked' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.write(body.slice(0, 10));
      request.end(body.slice(10));
    });
    expect(status).toBe(202);
    expect(viaApp).toHaveBeenCalledTimes(2);
    await eventually(() => expect(contacts(t.dir).map((contact) => contact.email)).toEqual(['grace@example.com']));
  });
});
