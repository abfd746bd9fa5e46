import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StateDb } from '../../runtime/db/index';
import type { SyncEngine } from '../../runtime/engine/index';
import { jsonRequest, laterStamp, startJsonServer, type JsonServer } from './support/jsonServer';
import { expectConverged, leadsEngine, leadsFlow, marketingTrigger, postgresCrm, sqliteCrm, type CrmSide } from './support/leads';
import { skipPostgres } from './support/postgres';

// The SPEC §1 leads flow through the real engine: the CRM in SQLite or PostgreSQL, the marketing side a JSON API
// served by json-server. Edits on both sides converge, and the pass after writes nothing.
let server: JsonServer;
const collections = ['contacts_sqlite', 'contacts_postgres'];

beforeAll(async () => {
  server = await startJsonServer(Object.fromEntries(collections.map((name) => [name, []])));
});
afterAll(async () => {
  await server?.stop();
});

function leadsScenario(name: string, collection: string, makeCrm: () => Promise<CrmSide>, skip = false): void {
  describe.skipIf(skip)(`leads flow: ${name} <-> json-server`, () => {
    let crm: CrmSide;
    let engine: SyncEngine;
    let db: StateDb;

    afterEach(async () => {
      await crm?.close();
      await db?.destroy();
    });

    it('links and creates on the first pass, converges after edits on both sides, and then writes nothing', async () => {
      crm = await makeCrm();
      ({ engine, db } = await leadsEngine());
      const flow = leadsFlow(crm.trigger, marketingTrigger(server.url, collection));
      const pass = () => engine.runPass(flow, { baseDir: crm.baseDir });
      const api = `${server.url}/${collection}`;
      const contacts = () => server.all(collection);
      const contactId = async (email: string) => String((await contacts()).find((contact) => contact['email'] === email)?.['id']);

      await crm.insert({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', status: 'open', amount: 1000 });
      await crm.insert({ first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', status: 'closed-lost', amount: 250 });
      await crm.insert({ first_name: 'Alan', last_name: 'Turing', email: 'Alan@Example.com ', status: 'open', amount: 10 });
      await jsonRequest('POST', api, { name: 'Alan Turing', email: 'alan@example.com', stage: 'Open', deal_value: 10, updatedAt: await laterStamp(server, collection) });
      await jsonRequest('POST', api, { name: 'Katherine Johnson', email: 'katherine@example.com', stage: 'Open', deal_value: null, updatedAt: await laterStamp(server, collection) });

      const first = await pass();
      expect(first.error).toBeNull();
      expect(first.status).toBe('ok');
      // Alan is linked by email across case and spaces; the API's later spelling is written back to the CRM.
      expect(first.summary).toMatchObject({ created: 3, updated: 1, deleted: 0, failed: 0, conflicts: 0 });
      expect((await contacts()).map(({ name, email, stage, deal_value }) => ({ name, email, stage, deal_value })).sort((a, b) => String(a.email).localeCompare(String(b.email)))).toEqual([
        { name: 'Ada Lovelace', email: 'ada@example.com', stage: 'Open', deal_value: 1000 },
        { name: 'Alan Turing', email: 'alan@example.com', stage: 'Open', deal_value: 10 },
        { name: 'Grace Hopper', email: 'grace@example.com', stage: 'Closed Lost', deal_value: 250 },
        { name: 'Katherine Johnson', email: 'katherine@example.com', stage: 'Open', deal_value: null },
      ]);
      expect(await crm.all()).toContainEqual({ first_name: 'Katherine', last_name: 'Johnson', email: 'katherine@example.com', status: 'open', amount: null });
      // The runtime's writes carry their tag and an updatedAt it stamped.
      expect((await contacts()).find((contact) => contact['email'] === 'ada@example.com')).toMatchObject({ syncline_tag: expect.stringMatching(/^syncline:leads:/), updatedAt: expect.any(String) });

      const second = await pass();
      expect(second.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0, echoes: 4 });
      expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });

      // Edits on both sides: renames, a stage change, a new person on each side, a delete on the API.
      await crm.update('ada@example.com', { last_name: 'King' });
      await crm.insert({ first_name: 'Barbara', last_name: 'Liskov', email: 'barbara@example.com', status: 'open', amount: 75 });
      await jsonRequest('PATCH', `${api}/${await contactId('alan@example.com')}`, { stage: 'Closed Lost', updatedAt: await laterStamp(server, collection) });
      await jsonRequest('POST', api, { name: 'Hedy Lamarr', email: 'hedy@example.com', stage: 'Open', deal_value: 5, updatedAt: await laterStamp(server, collection) });
      await jsonRequest('DELETE', `${api}/${await contactId('grace@example.com')}`);

      const third = await pass();
      expect(third.error).toBeNull();
      expect(third.summary).toMatchObject({ created: 2, updated: 2, deleted: 1, failed: 0, conflicts: 0 });
      expectConverged(await crm.all(), await contacts(), ['ada@example.com', 'alan@example.com', 'barbara@example.com', 'hedy@example.com', 'katherine@example.com']);
      expect((await contacts()).find((contact) => contact['email'] === 'ada@example.com')?.['name']).toBe('Ada King');
      expect((await crm.all()).find((lead) => lead.email === 'alan@example.com')?.status).toBe('closed-lost');

      // The pass after only recognises its own writes; the one after that sees nothing at all.
      const fourth = await pass();
      expect(fourth.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
      expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    });
  });
}

leadsScenario('SQLite CRM', 'contacts_sqlite', async () => sqliteCrm());
leadsScenario('PostgreSQL CRM', 'contacts_postgres', () => postgresCrm(), skipPostgres());
