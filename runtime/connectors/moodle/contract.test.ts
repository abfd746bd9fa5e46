import type { FlowRecord } from '../../../nodes/types';
import { runConnectorContract } from '../../../test/connector-contract';
import type { Connector, WriteOp } from '../types';
import { contextFor, noWaiting, startFake } from './fakeSite';
import { openMoodle } from './index';

// Users play the contract's fields with two free-text fields of a Moodle account: its email with `idnumber` (raw text:
// quotes and brackets survive, and two people may share one) and its name with `department` (which may be empty, as
// the contract's name may). Moodle's own email and names must be valid and unique, so they cannot: the fixture gives
// each account the names and email Moodle requires. A delete suspends (the default), so a deleted record is kept,
// closed: suspended.
runConnectorContract('moodle users', async () => {
  const fake = await startFake();
  const connector = await openMoodle(contextFor(fake, 'users'), noWaiting);
  let people = 0;
  const seed = (fields: FlowRecord): string => {
    people++;
    const user = fake.seedUser({
      username: `person.${people}`,
      firstname: 'Contract',
      lastname: `Person ${people}`,
      email: `person.${people}@example.com`,
      idnumber: typeof fields.email === 'string' ? fields.email : '',
      department: typeof fields.name === 'string' ? fields.name : '',
    });
    return String(user.id);
  };
  return {
    connector: withAccountNames(connector),
    collection: 'users',
    bookkeeping: ['id'],
    softDeletes: false,
    fieldNames: { email: 'idnumber', name: 'department', score: null },
    isClosed: (record) => fake.site.users.get(Number(record.id))?.suspended === true,
    external: {
      insert: async (fields) => seed(fields),
      insertAtOneVersion: async (list) => list.map(seed),
      update: async (id, fields) => {
        fake.editUser(Number(id), { ...('email' in fields ? { idnumber: String(fields.email ?? '') } : {}), ...('name' in fields ? { department: String(fields.name ?? '') } : {}) });
      },
      delete: async (id) => fake.deleteUser(Number(id)),
    },
    teardown: async () => {
      await connector.close();
      await fake.close();
    },
  };
});

/** Creates through the connector get the first name, last name and email every Moodle account needs. */
function withAccountNames(connector: Connector): Connector {
  let created = 0;
  return {
    capabilities: connector.capabilities,
    listSince: (position, limit) => connector.listSince(position, limit),
    getMany: (ids) => connector.getMany(ids),
    write: (ops) =>
      connector.write(
        ops.map((op): WriteOp => {
          if (op.kind !== 'create') return op;
          created++;
          return { ...op, fields: { firstname: 'Created', lastname: `Account ${created}`, email: `created.${created}@example.com`, ...op.fields } };
        }),
      ),
    scanIds: (limit) => connector.scanIds(limit),
    describe: () => connector.describe(),
    close: () => connector.close(),
  };
}
