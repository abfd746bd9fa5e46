import type { FlowRecord } from '../../../nodes/types';
import { runConnectorContract } from '../../../test/connector-contract';
import type { TicketInput, UserInput } from '../../../test/fakes/zendesk/records';
import { contextFor, fakeTime, startFake, withTimePassing } from './fakeAccount';
import { openZendesk } from './index';

// Tickets play the contract's fields with fields an agent would type in: email as the subject, name as a text custom
// field and score as a decimal one, both named through connection.customFields.
runConnectorContract('zendesk tickets', async () => {
  const fake = await startFake();
  const customerName = Number(fake.seedTicketField({ type: 'text', title: 'Customer name' }).id);
  const score = Number(fake.seedTicketField({ type: 'decimal', title: 'Score' }).id);
  const connector = await openZendesk(contextFor(fake, 'tickets', { customFields: { customer_name: customerName, score } }), fakeTime(fake));
  const asTicket = (fields: FlowRecord): TicketInput => {
    const custom: Array<{ id: number; value: unknown }> = [];
    if ('name' in fields) custom.push({ id: customerName, value: fields.name });
    if ('score' in fields) custom.push({ id: score, value: fields.score });
    return { ...('email' in fields ? { subject: fields.email } : {}), ...(custom.length > 0 ? { custom_fields: custom } : {}) };
  };
  const seed = (fields: FlowRecord): string => String(fake.seedTicket({ ...asTicket(fields), description: 'Written by a customer' }).id);
  return {
    connector: withTimePassing(connector, fake),
    collection: 'tickets',
    bookkeeping: ['id', 'updated_at'],
    softDeletes: true,
    fieldNames: { email: 'subject', name: 'customer_name', score: 'score' },
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
        fake.agentUpdateTicket(Number(id), asTicket(fields));
      },
      // An agent's delete is the only one Zendesk has: the ticket goes to Deleted tickets.
      delete: async (id) => {
        fake.clock.advance(1);
        fake.agentDeleteTicket(Number(id));
      },
      softDelete: async (id) => {
        fake.clock.advance(1);
        fake.agentDeleteTicket(Number(id));
      },
    },
    teardown: async () => {
      await connector.close();
      await fake.close();
    },
  };
});

// Users narrowed to end users (the admin and agent the account starts with are not in it). The contract's email is
// played by the user's name and its name by notes: Zendesk refuses a second user with an email already taken, and the
// suite seeds the same person twice; a name may repeat, and notes may be empty as the contract's name may. Users have
// no free numeric field.
runConnectorContract('zendesk users', async () => {
  const fake = await startFake();
  const connector = await openZendesk(contextFor(fake, 'users', { userRoles: ['end-user'] }), fakeTime(fake));
  const asUser = (fields: FlowRecord): UserInput => ({ ...('email' in fields ? { name: fields.email } : {}), ...('name' in fields ? { notes: fields.name } : {}) });
  const seed = (fields: FlowRecord): string => String(fake.seedUser(asUser(fields)).id);
  return {
    connector: withTimePassing(connector, fake),
    collection: 'users',
    bookkeeping: ['id', 'updated_at'],
    softDeletes: false,
    fieldNames: { email: 'name', name: 'notes', score: null },
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
        fake.agentUpdateUser(Number(id), asUser(fields));
      },
      delete: async () => {
        throw new Error('the Zendesk fake has no user deletion');
      },
    },
    teardown: async () => {
      await connector.close();
      await fake.close();
    },
  };
});
