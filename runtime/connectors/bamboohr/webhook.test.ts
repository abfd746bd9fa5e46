import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema, type TriggerConfig } from '../../../nodes/trigger/schema';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import type { WebhookDelivery } from '../types';
import { startFake } from './fakeCompany';
import { bambooHrWebhook, signBambooHrWebhook } from './webhook';

// Deliveries as the BambooHR fake sends them (test/fakes/bamboohr/webhooks.ts), received over HTTP and checked and
// read by the connector's webhook.

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let fake: BambooHrFake;
let receiver: Server;
let received: Received[];
let target: string;

const employees = config('employees');

function config(collection: string): TriggerConfig {
  return triggerConfigSchema.parse({ connector: 'bamboohr', connection: {}, collection, key: 'id', detect: { mode: 'webhook', secret: { credential: 'bamboohr-webhook-key' } } });
}

function delivery(entry: Received, body: Buffer = entry.body): WebhookDelivery {
  return { method: 'POST', url: '/hooks/flow/node', body: new Uint8Array(body), header: (name) => [entry.headers[name.toLowerCase()]].flat()[0] };
}

/** Creates a webhook through the API, as an integration would; returns its private key. */
async function createWebhook(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${fake.url}/api/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: fake.authorization, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ name: 'Syncline', url: target, format: 'json', ...body }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { privateKey: string }).privateKey;
}

async function delivered(): Promise<Received[]> {
  await fake.webhooks.idle();
  return received;
}

beforeEach(async () => {
  fake = await startFake({ allowHttpWebhookTargets: true });
  received = [];
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/flow/bamboohr`;
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('signature', () => {
  it('accepts what BambooHR signed with the private key, and refuses another key, a changed body or a missing header', async () => {
    const privateKey = await createWebhook({ events: ['employee.created'] });
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const [entry] = await delivered();
    const now = fake.clock.now();
    expect(bambooHrWebhook.verify(delivery(entry as Received), privateKey, now)).toBeNull();
    expect(bambooHrWebhook.verify(delivery(entry as Received), 'another-key', now)).toMatch(/^X-BambooHR-Signature does not match: it must be the hex HMAC-SHA256 of the raw body followed by X-BambooHR-Timestamp/);
    const tampered = Buffer.from((entry as Received).body.toString('utf8').replace(/"employeeId":"\d+"/, '"employeeId":"1"'));
    expect(bambooHrWebhook.verify(delivery(entry as Received, tampered), privateKey, now)).toMatch(/does not match/);
    const unsigned: Received = { headers: { ...(entry as Received).headers, 'x-bamboohr-signature': undefined }, body: (entry as Received).body };
    expect(bambooHrWebhook.verify(delivery(unsigned), privateKey, now)).toMatch(/^X-BambooHR-Signature is missing/);
    const untimed: Received = { headers: { ...(entry as Received).headers, 'x-bamboohr-timestamp': undefined }, body: (entry as Received).body };
    expect(bambooHrWebhook.verify(delivery(untimed), privateKey, now)).toMatch(/^X-BambooHR-Timestamp is missing/);
  });

  it('refuses a delivery more than five minutes from its timestamp: a replay, or a clock that is off', async () => {
    const privateKey = await createWebhook({ events: ['employee.created'] });
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const [entry] = await delivered();
    const sent = fake.clock.now().getTime();
    expect(bambooHrWebhook.verify(delivery(entry as Received), privateKey, new Date(sent + 5 * 60_000))).toBeNull();
    expect(bambooHrWebhook.verify(delivery(entry as Received), privateKey, new Date(sent + 6 * 60_000))).toMatch(/X-BambooHR-Timestamp \d+ is 6 minutes old; deliveries are accepted within 5 minutes/);
    expect(bambooHrWebhook.verify(delivery(entry as Received), privateKey, new Date(sent - 6 * 60_000))).toMatch(/6 minutes in the future/);
  });

  it('reads an ISO 8601 timestamp as well as Unix seconds, and refuses one that is neither', () => {
    const body = Buffer.from('{"type":"employee.created","data":{"employeeId":"7"}}');
    const at = (timestamp: string, signature = signBambooHrWebhook('key', timestamp, body)): Received => ({ headers: { 'x-bamboohr-timestamp': timestamp, 'x-bamboohr-signature': signature }, body });
    const now = new Date('2026-01-31T18:42:30Z');
    expect(bambooHrWebhook.verify(delivery(at('2026-01-31T18:42:00+0000')), 'key', now)).toBeNull();
    expect(bambooHrWebhook.verify(delivery(at('1769884950')), 'key', now)).toBeNull();
    expect(bambooHrWebhook.verify(delivery(at('last tuesday')), 'key', now)).toBe('X-BambooHR-Timestamp "last tuesday" is not a time');
    expect(bambooHrWebhook.verify(delivery(at('1769884950', 'not-hex')), 'key', now)).toMatch(/does not match/);
    expect(bambooHrWebhook.deliveryId(delivery(at('1769884950')))).toBeNull();
  });
});

describe('reading', () => {
  it('reads event-based deliveries as hints: created and updated as upserts, deleted as a delete', async () => {
    await createWebhook({ events: ['employee.created', 'employee.updated', 'employee.deleted'], monitorFields: ['department'] });
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research' });
    fake.edit(ada.id, { department: 'Engineering' });
    fake.deleteEmployee(ada.id);
    const readings = (await delivered()).map((entry) => bambooHrWebhook.read(delivery(entry), employees));
    const id = String(ada.id);
    expect(readings).toEqual([
      { kind: 'events', events: [{ recordId: id, type: 'upsert' }] },
      { kind: 'events', events: [{ recordId: id, type: 'upsert' }] },
      { kind: 'events', events: [{ recordId: id, type: 'upsert' }] },
      { kind: 'events', events: [{ recordId: id, type: 'delete' }] },
    ]);
  });

  it('reads field-based deliveries, JSON and form-encoded, by each entry’s id and action; a termination is an update', async () => {
    await createWebhook({ monitorFields: ['status'], postFields: { status: 'Status' } });
    await createWebhook({ format: 'form-encoded', monitorFields: ['status'] });
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.terminate(ada.id, '2024-06-03');
    const entries = await delivered();
    expect(entries.map((entry) => entry.headers['content-type'])).toEqual(['application/json', 'application/x-www-form-urlencoded', 'application/json', 'application/x-www-form-urlencoded']);
    for (const entry of entries) expect(bambooHrWebhook.read(delivery(entry), employees)).toEqual({ kind: 'events', events: [{ recordId: String(ada.id), type: 'upsert' }] });
    // The form-encoded entries are keyed by the employee's id.
    expect(entries[1]!.body.toString()).toContain(`employees%5B${ada.id}%5D%5Baction%5D=Created`);
    // Field-Based Webhooks' own Form Post example, which carries no action: a change of employee 12345.
    const documented = { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('employees[12345][changedFields][0]=First+name&employees[12345][First+name]=John') };
    expect(bambooHrWebhook.read(delivery(documented), employees)).toEqual({ kind: 'events', events: [{ recordId: '12345', type: 'upsert' }] });
    const batch = Buffer.from(JSON.stringify({ employees: [{ id: '7', action: 'Updated' }, { id: 8, action: 'Deleted' }] }));
    expect(bambooHrWebhook.read(delivery({ headers: {}, body: batch }), employees)).toEqual({
      kind: 'events',
      events: [
        { recordId: '7', type: 'upsert' },
        { recordId: '8', type: 'delete' },
      ],
    });
  });

  it('ignores company events and other collections; says where a payload is malformed', () => {
    const read = (payload: unknown, trigger = employees) => bambooHrWebhook.read(delivery({ headers: {}, body: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)) }), trigger);
    expect(read({ type: 'company.updated', data: { companyId: '1' } })).toEqual({ kind: 'ignored', reason: 'a company.updated event is not about an employee' });
    expect(read({ type: 'employee.updated', data: { employeeId: '7' } }, config('departments'))).toMatchObject({ kind: 'ignored' });
    expect(read('not json')).toMatchObject({ kind: 'invalid', path: '' });
    expect(read([1, 2])).toMatchObject({ kind: 'invalid', path: '' });
    expect(read({ type: 'employee.updated', data: {} })).toEqual({ kind: 'invalid', message: "must be the employee's id", path: 'data.employeeId' });
    expect(read({ employees: [{ id: '7', action: 'Hired' }] })).toEqual({ kind: 'invalid', message: 'must be Created, Updated or Deleted', path: 'employees[0].action' });
    expect(read({ employees: {} })).toMatchObject({ kind: 'invalid', path: 'employees' });
    expect(read({ hello: 'world' })).toMatchObject({ kind: 'invalid', path: 'type' });
  });
});

describe('registration', () => {
  it('is not offered: BambooHR generates the private key itself and shows it once', () => {
    expect(bambooHrWebhook.register).toBeUndefined();
    expect(bambooHrWebhook.unregister).toBeUndefined();
  });
});
