import type { FlowRecord } from '../../../nodes/types';
import { runConnectorContract } from '../../../test/connector-contract';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { Connector, SourceRecord, WriteOp } from '../types';
import { openMailchimp } from './index';
import { contextFor, fakeTime, startFake, withTimePassing } from './test-support';

/**
 * Members play the contract's fields with merge fields a marketer would fill in: `email` as a text merge field CONTACT
 * (the member's own address is its key and cannot take the suite's free text, quotes and all), `name` as FNAME and
 * `score` as a number merge field SCORE. The suite's renaming (`fieldNames`) works on top-level fields; these are
 * nested (`merge_fields.FNAME`), so the vocabulary is translated here instead, the way the engine sends them: a write
 * carries only the merge fields it changes. A member needs an address to exist: each create gets a new one.
 */
const toMailchimp: Record<string, string> = { email: 'CONTACT', name: 'FNAME', score: 'SCORE' };
const toContract = new Map(Object.entries(toMailchimp).map(([contract, tag]) => [`merge_fields.${tag}`, contract]));

function speakingContract(connector: Connector): Connector {
  let created = 0;
  const read = (record: SourceRecord): SourceRecord => {
    const merge = (record.fields.merge_fields ?? {}) as FlowRecord;
    const fields: FlowRecord = {};
    for (const [contract, tag] of Object.entries(toMailchimp)) if (tag in merge) fields[contract] = merge[tag] as FlowRecord[string];
    return { ...record, fields };
  };
  const written = (fields: FlowRecord): FlowRecord => {
    const out: FlowRecord = {};
    const merge: FlowRecord = {};
    for (const [name, value] of Object.entries(fields)) {
      const tag = toMailchimp[name];
      if (tag) merge[tag] = value;
      else out[name] = value;
    }
    if (Object.keys(merge).length > 0) out.merge_fields = merge;
    return out;
  };
  return {
    capabilities: connector.capabilities,
    listSince: async (position, limit) => {
      const page = await connector.listSince(position, limit);
      return { ...page, records: page.records.map(read) };
    },
    getMany: async (ids) => new Map([...(await connector.getMany(ids))].map(([id, record]) => [id, read(record)])),
    write: (ops) =>
      connector.write(
        ops.map((op): WriteOp => {
          if (op.kind === 'delete') return op;
          if (op.kind === 'update') return { ...op, fields: written(op.fields) };
          return { ...op, fields: { email_address: `created-${++created}@example.com`, ...written(op.fields) } };
        }),
      ),
    scanIds: (limit) => connector.scanIds(limit),
    describe: async () => (await connector.describe()).map((collection) => ({ ...collection, fields: collection.fields.map((field) => ({ ...field, name: toContract.get(field.name) ?? field.name })) })),
    close: () => connector.close(),
  };
}

runConnectorContract('mailchimp members', async () => {
  const fake: MailchimpFake = await startFake();
  fake.addMergeField({ tag: 'CONTACT', name: 'Contact', type: 'text' });
  fake.addMergeField({ tag: 'SCORE', name: 'Score', type: 'number' });
  const connector = await openMailchimp(contextFor(fake), fakeTime(fake));
  let seeded = 0;
  const asMember = (fields: FlowRecord): Record<string, unknown> => {
    const merge: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(fields)) if (toMailchimp[name]) merge[toMailchimp[name] as string] = value ?? '';
    return merge;
  };
  const seed = (fields: FlowRecord): string => fake.seedMember({ email_address: `seeded-${++seeded}@example.com`, merge_fields: asMember(fields) }).id;
  return {
    connector: speakingContract(withTimePassing(connector, fake)),
    collection: 'members',
    bookkeeping: ['id', 'last_changed'],
    // Archiving, Mailchimp's delete, keeps the member with status archived; it reads as deleted.
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
        fake.person.edit(id, { merge_fields: asMember(fields) });
      },
      // "Delete list member": the one delete that removes a member for good, which only a person makes.
      delete: async (id) => {
        fake.clock.advance(1);
        const member = fake.account.findMember(fake.list, id);
        if (member) fake.account.deletePermanently(fake.list, member);
      },
      softDelete: async (id) => {
        fake.clock.advance(1);
        fake.person.archive(id);
      },
    },
    teardown: async () => {
      await connector.close();
      await fake.close();
    },
  };
});
