import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webhookSettingsSchema } from '../../runtime/connectors/http/config';
import { signWebhookBody } from '../../runtime/connectors/http/webhook';
import { signBody } from '../../runtime/webhooks/signature';
import { jsonRequest, laterStamp, startJsonServer, type JsonServer } from '../connectors/support/jsonServer';
import { contacts, deployPeople, eventually, peopleFlow, SECRET, testRuntime, type TestRuntime } from './support';
import { expectError } from '../support/httpErrors';

/**
 * Webhooks for an `http` trigger are checked and read with the scheme its `connection.webhook` configures (here a
 * base64 HMAC-SHA512 with a prefix, in a header of the API's own, the id deep in the event), not SPEC §10's default.
 */
const settings = {
  signature: { header: 'X-Example-Signature', algorithm: 'sha512', encoding: 'base64', prefix: 'v1,' },
  idPath: 'data.object.id',
  typePath: 'type',
} as const;
const sign = (body: string, secret = SECRET) => signWebhookBody(webhookSettingsSchema.parse(settings), secret, body);

let api: JsonServer;
let t: TestRuntime | undefined;
beforeAll(async () => {
  api = await startJsonServer({ people: [] });
});
afterAll(async () => api?.stop());
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The people flow with its `a` side the json-server API, which posts signed events to the runtime. */
/** `webhook: null` leaves `connection.webhook` out. */
function apiPeopleFlow(options: { detect?: Record<string, unknown>; webhook?: unknown } = {}): Record<string, unknown> {
  const flow = peopleFlow() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
  const a = flow.nodes.find((node) => node.id === 'a')!;
  a.config = {
    connector: 'http',
    connection: {
      baseUrl: api.url,
      list: { pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' }, updatedSinceParam: 'updatedAt_gte', query: { _sort: 'updatedAt,id', _order: 'asc,asc' } },
      stampUpdatedAt: true,
      fields: { name: 'string', email: 'string' },
      ...(options.webhook === null ? {} : { webhook: options.webhook ?? settings }),
    },
    collection: 'people',
    key: 'id',
    updatedAt: 'updatedAt',
    detect: { mode: 'webhook', secret: { credential: 'hook-secret' }, ...options.detect },
  };
  return flow;
}

function post(t: TestRuntime, body: string, headers: Record<string, string>): Promise<Response> {
  return t.request('/hooks/people/a', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

const storedEvents = (t: TestRuntime) => t.inbox.selectFrom('webhook_events').select(['record_id', 'type']).orderBy('id').execute();

describe('webhooks for an http trigger with its own signature scheme', () => {
  it('accepts a delivery signed as configured, reads the id at its nested path, and syncs the record', async () => {
    t = await testRuntime({ allowHosts: ['127.0.0.1'] });
    await deployPeople(t, apiPeopleFlow());
    const person = await jsonRequest('POST', `${api.url}/people`, { name: 'Ada Lovelace', email: 'ada@example.com', updatedAt: await laterStamp(api, 'people') });

    const body = JSON.stringify({ type: 'person.updated', data: { object: { id: person.id, name: 'ignored: only a hint' } } });
    const response = await post(t, body, { 'x-example-signature': sign(body) });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, duplicate: false });
    expect(await storedEvents(t)).toEqual([{ record_id: String(person.id), type: 'upsert' }]);
    await eventually(() => expect(contacts(t!.dir)).toEqual([expect.objectContaining({ full_name: 'Ada Lovelace', email: 'ada@example.com' })]));

    // A delete, reported with the API's own event type, removes the record on the other side.
    await jsonRequest('DELETE', `${api.url}/people/${String(person.id)}`);
    const deleted = JSON.stringify([{ type: 'person.deleted', data: { object: { id: person.id } } }]);
    expect((await post(t, deleted, { 'X-Example-Signature': sign(deleted), 'x-syncline-delivery': 'd-1' })).status).toBe(202);
    await eventually(() => expect(contacts(t!.dir)).toEqual([]));
  });

  it('refuses a wrong signature, the default scheme in place of the configured one, and a body without the id, storing nothing', async () => {
    t = await testRuntime({ allowHosts: ['127.0.0.1'] });
    await deployPeople(t, apiPeopleFlow());
    const before = await t.snapshot();
    const body = JSON.stringify({ type: 'person.updated', data: { object: { id: 7 } } });

    const refused = await expectError(await post(t, body, { 'x-example-signature': sign(body, 'wrong secret') }), 401, 'bad_signature');
    expect(refused.error.message).toBe("X-Example-Signature must be v1,<base64 HMAC-SHA512 of the raw body with the trigger's secret>");
    await expectError(await post(t, body, {}), 401, 'bad_signature');
    await expectError(await post(t, body, { 'x-example-signature': sign(body).slice(3) }), 401, 'bad_signature');
    await expectError(await post(t, body, { 'x-example-signature': sign(`${body} `) }), 401, 'bad_signature');
    // The right signature in SPEC §10's header and form is not this trigger's scheme.
    await expectError(await post(t, body, { 'x-syncline-signature': signBody(SECRET, body) }), 401, 'bad_signature', /X-Example-Signature/);
    await expectError(await post(t, body, { 'x-example-signature': signBody(SECRET, body) }), 401, 'bad_signature');

    const flat = JSON.stringify({ type: 'person.updated', id: 7 });
    const malformed = await expectError(await post(t, flat, { 'x-example-signature': sign(flat) }), 400, 'invalid_event');
    expect(malformed.error.path).toBe('data.object.id');
    const huge = JSON.stringify({ type: 'person.updated', data: { object: { id: 'x'.repeat(1024 * 1024) } } });
    await expectError(await post(t, huge, { 'x-example-signature': sign(huge) }), 413, 'payload_too_large');
    expect(await t.snapshot()).toBe(before);
  });

  it('checks an http trigger without webhook settings with SPEC §10’s scheme, and lets the trigger’s own paths win', async () => {
    t = await testRuntime({ allowHosts: ['127.0.0.1'] });
    await deployPeople(t, apiPeopleFlow({ webhook: null, detect: { idPath: 'record.key' } }));
    const body = JSON.stringify({ type: 'upsert', record: { key: 'k-1' }, id: 'not this one' });
    await expectError(await post(t, body, { 'x-example-signature': sign(body) }), 401, 'bad_signature', /X-Syncline-Signature must be sha256=<hex HMAC-SHA256/);
    expect((await post(t, body, { 'x-syncline-signature': signBody(SECRET, body) })).status).toBe(202);
    expect(await storedEvents(t)).toEqual([{ record_id: 'k-1', type: 'upsert' }]);
  });
});
