import type { FlowRecord } from '../../../nodes/types';
import { runConnectorContract } from '../../../test/connector-contract';
import type { Connector } from '../types';
import { contextFor, fakeTime, startFake, withTimePassing } from './fakeCompany';
import { openBambooHr } from './index';

// Employees play the contract's fields with fields an HR admin types: email as the last name (work emails must be
// unique in BambooHR, and the suite seeds the same person twice), name as the preferred name (which may be empty, as
// the contract's name may). BambooHR has no free fractional number field: score is played by none.
//
// BambooHR creates an employee only with a first and a last name. A flow that creates employees maps both; here the
// fixture stands for such a mapping and gives every create the first name "Contract" unless it has one.
runConnectorContract('bamboohr employees', async () => {
  const fake = await startFake();
  const connector = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName', 'preferredName', 'status'] }), fakeTime(fake));
  const asEmployee = (fields: FlowRecord): Record<string, unknown> => ({ ...('email' in fields ? { lastName: fields.email } : {}), ...('name' in fields ? { preferredName: fields.name } : {}) });
  const seed = (fields: FlowRecord): string => String(fake.hire({ firstName: 'Seeded', ...asEmployee(fields) }).id);
  const timed = withTimePassing(connector, fake);
  const withFirstName: Connector = {
    ...timed,
    write: (ops) => timed.write(ops.map((op) => (op.kind === 'create' && !('firstName' in op.fields) ? { ...op, fields: { firstName: 'Contract', ...op.fields } } : op))),
  };
  return {
    connector: withFirstName,
    collection: 'employees',
    bookkeeping: ['id', 'lastChanged'],
    softDeletes: false,
    fieldNames: { email: 'lastName', name: 'preferredName', score: null },
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
        fake.edit(Number(id), asEmployee(fields));
      },
      // Deleting is done in BambooHR's screens, never through the API.
      delete: async (id) => {
        fake.clock.advance(1);
        fake.deleteEmployee(Number(id));
      },
    },
    teardown: async () => {
      await connector.close();
      await fake.close();
    },
  };
});
