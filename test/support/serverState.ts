/**
 * The state the server suites (test/server) run on. By default SQLite: in memory for `testRuntime`, state.db in the
 * data folder for a started server. The vitest project `server-postgres` (vite.config.ts) runs the same suites again
 * with SYNCLINE_TEST_STATE=postgres: each test's state and webhook inbox then live in a schema of its own on the
 * PostgreSQL server DATABASE_URL names, dropped when the test ends.
 */
import { onTestFinished } from 'vitest';
import { createTestSchema, databaseUrl } from '../connectors/support/postgres';
import { postgresRequirement, skipUnless } from './requirements';

/** Whether this run keeps the server suites' state in PostgreSQL. */
export const stateOnPostgres = process.env.SYNCLINE_TEST_STATE === 'postgres';

// Asked for PostgreSQL without one: fail under CI, else say why nothing works (a project that skipped every test
// would pass silently).
if (stateOnPostgres && skipUnless(postgresRequirement())) {
  throw new Error('SYNCLINE_TEST_STATE=postgres needs DATABASE_URL: the server suites cannot run on PostgreSQL without it');
}

/** A state URL for a fresh schema on the test server: `DATABASE_URL` with `schema=NAME`. */
export function stateUrlFor(schema: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', schema);
  return url.toString();
}

export interface TestState {
  /** The state for a runtime or a `serve`: a URL on PostgreSQL; null on SQLite, where each takes its own default. */
  url: string | null;
  /** Drops the schema (PostgreSQL); call it once whatever held connections to it has closed them. */
  drop(): Promise<void>;
}

/** A fresh state for one test, in a schema of its own on PostgreSQL; its owner drops it (see `testStateForThisTest`). */
export async function createTestState(): Promise<TestState> {
  return stateOnPostgres ? createPostgresTestState() : { url: null, drop: async () => {} };
}

/** A fresh schema for a state on the test server, whichever project runs: for tests of PostgreSQL state itself. */
export async function createPostgresTestState(): Promise<TestState & { url: string }> {
  const schema = await createTestSchema('syncline_server');
  // Once: a runtime closed twice (a test's own close, then its afterEach) drops it once.
  let dropped: Promise<void> | null = null;
  return { url: stateUrlFor(schema.name), drop: () => (dropped ??= schema.drop()) };
}

/**
 * A fresh state for the running test, dropped once the test and its afterEach hooks are done (onTestFinished runs
 * after them, so a server stopped in afterEach has closed its connections by then).
 */
export async function testStateForThisTest(): Promise<string | null> {
  const state = await createTestState();
  onTestFinished(() => state.drop());
  return state.url;
}

/** A fresh PostgreSQL state URL for the running test, dropped as `testStateForThisTest` drops it. */
export async function postgresStateForThisTest(): Promise<string> {
  const state = await createPostgresTestState();
  onTestFinished(() => state.drop());
  return state.url;
}
