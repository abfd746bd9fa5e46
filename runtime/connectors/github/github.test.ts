import { runConnectorContract } from '../../../test/connector-contract';
import { openIssues, startFakeRepository } from './test-support';

// The contract suite against the GitHub fake: one repository per test, edited out of band through the fake's own
// controls (seeding and a person's edits in the web interface), which move updated_at as GitHub does.
runConnectorContract('github (issues of one repository, on the GitHub fake)', async () => {
  const { fake, outOfBand } = await startFakeRepository();
  const connector = await openIssues(fake);
  const number = (id: string) => Number(id);
  const patchOf = (fields: Record<string, unknown>) => ({
    ...('email' in fields ? { title: String(fields.email) } : {}),
    ...('name' in fields ? { body: fields.name === null ? null : String(fields.name) } : {}),
  });
  return {
    connector,
    collection: 'issues',
    bookkeeping: ['number', 'updated_at'],
    softDeletes: false,
    fieldNames: { email: 'title', name: 'body', score: null },
    isClosed: (record) => fake.issues.get(number(record.id))?.state === 'closed',
    external: {
      insert: async (fields) => outOfBand(() => String(fake.seed.issue({ title: String(fields.email), body: (fields.name as string | null | undefined) ?? null }))),
      insertAtOneVersion: async (records) =>
        outOfBand((at) => records.map((fields) => String(fake.seed.issue({ title: String(fields.email), body: (fields.name as string | null | undefined) ?? null, createdAt: at, updatedAt: at })))),
      update: async (id, fields) => outOfBand(() => fake.human.editIssue(number(id), patchOf(fields))),
      delete: async (id) => outOfBand(() => fake.human.deleteIssue(number(id))),
    },
    teardown: async () => {
      await connector.close();
      await fake.close();
    },
  };
});
