import type { FlowRecord } from '../../../nodes/types';
import { runConnectorContract } from '../../../test/connector-contract';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import type { ObjectType } from '../../../test/fakes/hubspot/portal';
import type { Connector, SourceRecord, WriteOp } from '../types';
import { contextFor, fakeTime, startFake, withTimePassing } from './fakeAccount';
import { openHubSpot } from './index';

/**
 * The contract's `email`, `name` and `score` played by three properties, each a leaf of the record's `properties`
 * object: the contract's field names are flat, so this maps them path by path (what `fieldNames` does for top-level
 * fields). A contact's `email` cannot play `email`: HubSpot refuses a malformed address and one already taken, and the
 * suite writes `o'brien "the" <o@example.com>` and seeds one person twice.
 */
const playedBy: Record<ObjectType, Record<'email' | 'name' | 'score', string>> = {
  contacts: { email: 'lastname', name: 'firstname', score: 'score' },
  companies: { email: 'name', name: 'description', score: 'numberofemployees' },
};

function asProperties(type: ObjectType, fields: FlowRecord): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) properties[playedBy[type][field as 'email'] ?? field] = value;
  return properties;
}

/** The connector in the contract's flat vocabulary. Fields the contract does not know go into `properties` as they are. */
function flat(connector: Connector, type: ObjectType): Connector {
  const names = playedBy[type];
  const read = (record: SourceRecord): SourceRecord => {
    const properties = (record.fields.properties ?? {}) as Record<string, unknown>;
    return { ...record, fields: { email: properties[names.email] ?? null, name: properties[names.name] ?? null, score: properties[names.score] ?? null } };
  };
  const toSystem = (op: WriteOp): WriteOp => (op.kind === 'delete' ? op : { ...op, fields: { properties: asProperties(type, op.fields) } });
  const byPath = new Map(Object.entries(names).map(([contract, property]) => [`properties.${property}`, contract]));
  return {
    capabilities: connector.capabilities,
    listSince: async (position, limit) => {
      const page = await connector.listSince(position, limit);
      return { ...page, records: page.records.map(read) };
    },
    getMany: async (ids) => new Map([...(await connector.getMany(ids))].map(([id, record]) => [id, read(record)])),
    write: (ops) => connector.write(ops.map(toSystem)),
    scanIds: (limit) => connector.scanIds(limit),
    describe: async () => (await connector.describe()).map((collection) => ({ ...collection, fields: collection.fields.map((field) => ({ ...field, name: byPath.get(field.name) ?? field.name })) })),
    close: () => connector.close(),
  };
}

for (const type of ['contacts', 'companies'] as const) {
  runConnectorContract(`hubspot ${type}`, async () => {
    const fake: HubSpotFake = await startFake();
    // A custom number property plays the contacts' score; companies have numberofemployees.
    if (type === 'contacts') fake.defineProperty('contacts', { name: 'score', label: 'Score', type: 'number', fieldType: 'number' });
    const names = playedBy[type];
    const connector = await openHubSpot(contextFor(fake, type, { properties: [names.email, names.name, names.score] }), fakeTime(fake));
    const seed = (fields: FlowRecord): string => fake.personCreate(type, asProperties(type, fields));
    return {
      connector: flat(withTimePassing(connector, fake), type),
      collection: type,
      bookkeeping: ['hs_object_id', type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate'],
      softDeletes: true,
      isClosed: (record) => record.deleted,
      external: {
        insert: async (fields) => {
          fake.clock.advance(1);
          return seed(fields);
        },
        insertAtOneVersion: async (list) => {
          fake.clock.advance(1);
          return list.map(seed);
        },
        update: async (id, fields) => {
          fake.clock.advance(1);
          fake.personUpdate(type, id, asProperties(type, fields));
        },
        // HubSpot's delete from its interface archives too (restorable for 90 days).
        delete: async (id) => {
          fake.clock.advance(1);
          fake.personArchive(type, id);
        },
        softDelete: async (id) => {
          fake.clock.advance(1);
          fake.personArchive(type, id);
        },
      },
      teardown: async () => {
        await connector.close();
        await fake.close();
      },
    };
  });
}
