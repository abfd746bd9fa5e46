/**
 * The databases a suite runs the runtime's state on: SQLite always, PostgreSQL when DATABASE_URL names one (under CI a
 * missing DATABASE_URL fails the suite instead of leaving PostgreSQL out: requirements.ts).
 *
 *   describe.each(stateDatabases)('cursorQueries on $name', ({ open }) => {
 *     it('…', async () => { const db = await open(); … });
 *   });
 *
 * Each `open()` is a fresh, migrated state of the test's own, closed when the test ends; on PostgreSQL it is a schema
 * of its own (dropped then), so tests running at once never see each other's rows.
 */
import { onTestFinished } from 'vitest';
import { openInboxDb, type InboxDb } from '../../runtime/db/inbox';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { createTestSchema, databaseUrl, skipPostgres } from '../connectors/support/postgres';

export interface StateDatabase {
  name: 'sqlite' | 'postgres';
  /** A fresh, migrated state for the running test, closed (on PostgreSQL, its schema dropped) when the test ends. */
  open(): Promise<StateDb>;
  /** A fresh, migrated webhook inbox, likewise: on PostgreSQL in a schema of its own, beside a state as `serve` keeps it. */
  openInbox(): Promise<InboxDb>;
}

const sqlite: StateDatabase = {
  name: 'sqlite',
  async open() {
    const db = await openStateDb(':memory:');
    onTestFinished(() => db.destroy());
    return db;
  },
  async openInbox() {
    const inbox = await openInboxDb(':memory:');
    onTestFinished(() => inbox.destroy());
    return inbox;
  },
};

const postgres: StateDatabase = {
  name: 'postgres',
  async open() {
    const schema = await createTestSchema('syncline_state');
    onTestFinished(() => schema.drop());
    const db = await openStateDb(databaseUrl, { schema: schema.name, poolSize: 4 });
    // Hooks run last-registered first: the pool is closed before its schema is dropped.
    onTestFinished(() => db.destroy());
    return db;
  },
  async openInbox() {
    const schema = await createTestSchema('syncline_inbox');
    onTestFinished(() => schema.drop());
    const inbox = await openInboxDb(databaseUrl, { schema: schema.name, poolSize: 4 });
    onTestFinished(() => inbox.destroy());
    return inbox;
  },
};

/** The state databases available here, SQLite first. */
export const stateDatabases: readonly StateDatabase[] = skipPostgres() ? [sqlite] : [sqlite, postgres];
