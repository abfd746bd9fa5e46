import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import { connectorRegistry } from '../../runtime/connectors/index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../../runtime/connectors/memory/index';
import { openStateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { jsonRequest, startJsonServer, type JsonServer } from '../connectors/support/jsonServer';
import { loopbackAccess } from '../support/access';

// An HR system's people (memory, with a change feed) and an LMS's learners behind a JSON API with no "changed since"
// filter (`list.changeFeed: false`): every pass lists the learners whole and finds what changed by itself.
let server: JsonServer;

beforeAll(async () => {
  server = await startJsonServer({ learners: [] });
});
afterAll(async () => {
  await server?.stop();
  deleteMemoryStore('hr-snapshot');
});

function flow(): FlowDocument {
  const trigger = (id: string, config: Record<string, unknown>) => ({ id, type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { detect: { mode: 'manual' }, ...config } });
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'hr-lms',
    name: 'HR <-> LMS',
    nodes: [
      trigger('hr', { connector: 'memory', connection: { store: 'hr-snapshot' }, collection: 'people', key: 'id', updatedAt: 'updated' }),
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 0, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      trigger('lms', {
        connector: 'http',
        connection: {
          baseUrl: server.url,
          list: { changeFeed: false, pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' }, pageSize: 2, query: { _sort: 'id' } },
          conditionalWrites: 'none',
          fields: { email: 'string', name: 'string' },
        },
        collection: 'learners',
        key: 'id',
      }),
    ],
    edges: [
      { id: 'e1', source: 'hr', target: 'hub' },
      { id: 'e2', source: 'hub', target: 'lms' },
    ],
  });
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

describe('an http side without a change feed, through the engine', () => {
  it('sees edits without any updated time, deletes by their absence, and is quiet when nothing changed', async () => {
    const people: MemoryCollection = createMemoryStore('hr-snapshot').createCollection('people');
    const db = await openStateDb(':memory:');
    const engine = new SyncEngine({ db, connectors: connectorRegistry, access: loopbackAccess, retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 } });
    const pass = () => engine.runPass(flow(), { baseDir: '.', pageSize: 2 });
    const learners = `${server.url}/learners`;
    try {
      for (const name of ['Ada', 'Alan', 'Grace']) await jsonRequest('POST', learners, { email: `${name.toLowerCase()}@example.com`, name });
      expect((await pass()).summary).toMatchObject({ created: 3, failed: 0 });
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

      // Nothing changed on either side: the learners are listed and nothing is written anywhere.
      const quiet = await pass();
      expect(quiet.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });

      const [ada, alan] = await server.all('learners');
      await jsonRequest('PATCH', `${learners}/${String(ada?.id)}`, { name: 'Ada Lovelace' });
      await jsonRequest('DELETE', `${learners}/${String(alan?.id)}`);
      const changed = await pass();
      expect(changed.summary).toMatchObject({ updated: 1, deleted: 1, failed: 0 });
      expect(people.all().map((record) => record.fields.name).sort()).toEqual(['Ada Lovelace', 'Grace']);

      // And back the other way: an HR edit is written to the learner, whose echo is then counted once.
      const grace = people.all().find((record) => record.fields.email === 'grace@example.com');
      people.update(grace?.id as string, { name: 'Grace Hopper' });
      expect((await pass()).summary).toMatchObject({ updated: 1, failed: 0 });
      expect((await server.all('learners')).map((learner) => learner.name).sort()).toEqual(['Ada Lovelace', 'Grace Hopper']);
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, echoes: 1, failed: 0 });
      expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    } finally {
      await engine.close();
      await db.destroy();
    }
  });
});
