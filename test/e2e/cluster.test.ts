/**
 * Three `syncline serve` processes on one PostgreSQL state form one runtime (issue 19): signed webhooks sent to all
 * three in turn, one process killed with SIGKILL while it holds the flow (mid-pass), and every acknowledged event
 * applied exactly once, both sides equal, and no two passes of the flow ever overlapping.
 *
 * The sides are the SQLite files a.db and b.db in the data folder the three share (as processes on one machine may);
 * the state, the webhook inbox and the job queue are in a schema of the test's own.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signBody } from '../../runtime/webhooks/signature';
import { channelFor } from '../../runtime/connectors/postgres/index';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../connectors/support/postgres';
import { contacts, createSides, eventually, peopleFlow, SECRET, upsertPerson } from '../server/support';
import { startServeProcess, type ServeProcess } from '../support/cliProcess';
import { stateUrlFor } from '../support/serverState';

const TOKEN = 'cluster-test-token-0123456789';
/** The first key of the flow locks' advisory locks (runtime/cluster/cluster.ts FLOW_LOCKS). */
const FLOW_LOCKS = 0x5359_0002;

interface Member extends ServeProcess {
  alive: boolean;
}

const children: ChildProcessWithoutNullStreams[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A cluster's shared ground, removed after the file: a state schema of its own (and the job queue's beside it), a data
 * folder with the sides a.db and b.db, the named ones in write-ahead logging so that readers and the writer do not
 * block each other, as a real database's would not.
 */
async function clusterGround(name: string, walFiles: string[]): Promise<{ schema: TestSchema; dataDir: string; state: string }> {
  const schema = await createTestSchema(name);
  cleanups.push(async () => {
    await schema.query(`drop schema if exists "${schema.name}_jobs" cascade`);
    await schema.drop();
  });
  const dataDir = mkdtempSync(join(tmpdir(), `${name.replaceAll('_', '-')}-`));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  createSides(dataDir);
  const { default: Sqlite } = await import('better-sqlite3');
  for (const file of walFiles) new Sqlite(join(dataDir, file)).pragma('journal_mode = WAL');
  return { schema, dataDir, state: stateUrlFor(schema.name) };
}

async function startMember(dataDir: string, state: string): Promise<Member> {
  const started = await startServeProcess(['--data', dataDir, '--state', state], { SYNCLINE_TOKEN: TOKEN, SYNCLINE_LOG_LEVEL: 'warn' }, children);
  return { ...started, alive: true };
}

async function api(member: Member, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<unknown> {
  const response = await fetch(`${member.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Sends one signed webhook for a person; true when the member acknowledged it (202: stored in PostgreSQL). */
async function sendHook(member: Member, flowId: string, id: number): Promise<boolean> {
  const body = JSON.stringify({ type: 'upsert', id: String(id) });
  try {
    const response = await fetch(`${member.base}/hooks/${flowId}/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': `d-${id}-${Math.random()}` },
      body,
    });
    await response.arrayBuffer();
    return response.status === 202;
  } catch {
    return false;
  }
}

/** The pid of the member process whose connection holds the flow's lock, if one does (its application_name says). */
async function lockHolder(schema: TestSchema): Promise<number | null> {
  const rows = await schema.query<{ application_name: string }>(
    `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and l.classid = $1`,
    [FLOW_LOCKS],
  );
  const pid = /^syncline:(\d+)@/.exec(rows[0]?.application_name ?? '')?.[1];
  return pid === undefined ? null : Number(pid);
}

describe.skipIf(skipPostgres())('three serve processes on one PostgreSQL state', () => {
  it(
    'take signed webhooks in turn, lose one to SIGKILL mid-pass, and apply every acknowledged event exactly once',
    async () => {
      // The test writes A while three processes read it and write B.
      const { schema, dataDir, state } = await clusterGround('syncline_cluster_e2e', ['a.db', 'b.db']);
      // Started at once: the state's migrations and the queue's set-up meet on an empty schema.
      const members = await Promise.all([startMember(dataDir, state), startMember(dataDir, state), startMember(dataDir, state)]);
      const [first] = members as [Member, Member, Member];
      await api(first, '/api/credentials', { name: 'hook-secret', type: 'webhook-secret', value: SECRET });
      await api(first, '/api/flows', peopleFlow({ id: 'people' }));
      await api(first, '/api/flows/people/deploy', undefined, 'POST');
      // Every member learns of the deploy within a beat of its monitor.
      const ids: number[] = [upsertPerson(dataDir, { name: 'Person 0', email: 'p0@example.com' })];
      for (const member of members) await eventually(async () => expect((await sendHook(member, 'people', ids[0]!)) || member.output.join('')).toBe(true));

      const status = (await api(first, '/api/cluster')) as { members: Array<{ name: string; pid: number }> };
      expect(status.members.map((m) => m.pid).sort()).toEqual(members.map((m) => m.child.pid).sort());

      const acknowledged = new Set<number>();
      const unacknowledged = new Set<number>();
      let turn = 0;
      const send = async (id: number) => {
        const live = members.filter((m) => m.alive);
        const member = live[turn++ % live.length]!;
        if (await sendHook(member, 'people', id)) acknowledged.add(id);
        else unacknowledged.add(id);
      };
      const burst = async (count: number) => {
        const batch: number[] = [];
        for (let i = 0; i < count; i++) {
          // One event in five edits a person already sent; the others are new people.
          const edit = ids.length > 10 && i % 5 === 4;
          const id = edit ? ids[(i * 7) % ids.length]! : upsertPerson(dataDir, { name: `Person ${ids.length}`, email: `p${ids.length}@example.com` });
          if (edit) upsertPerson(dataDir, { id, name: `Renamed ${id} ${i}`, email: `p${ids.indexOf(id)}@example.com` });
          else ids.push(id);
          batch.push(id);
        }
        await Promise.all(batch.map(send));
      };

      await burst(150);
      // Kill a member while it holds the flow: frozen first (SIGSTOP), its hold confirmed in pg_locks, then killed.
      let victim: Member | null = null;
      for (let attempt = 0; victim === null; attempt++) {
        if (attempt > 200) throw new Error('no member was ever seen holding the flow');
        const sending = burst(40);
        const holder = await eventually(async () => {
          const pid = await lockHolder(schema);
          expect(pid).not.toBeNull();
          return pid!;
        }, 30_000).catch(() => null);
        const candidate = members.find((m) => m.alive && m.child.pid === holder);
        if (candidate) {
          candidate.child.kill('SIGSTOP');
          // Frozen holding the flow, with its pass's run begun: mid-pass.
          const running = await schema.query(`select id from "${schema.name}".runs where status = 'running' and process like $1`, [`%:${candidate.child.pid}`]);
          if ((await lockHolder(schema)) === candidate.child.pid && running.length === 1) victim = candidate;
          else candidate.child.kill('SIGCONT');
        }
        if (victim) {
          victim.alive = false;
          victim.child.kill('SIGKILL');
          await once(victim.child, 'exit');
        }
        await sending;
      }
      await burst(150);
      // A sender retries what was not acknowledged (here: what went to the killed member as it died).
      for (const id of [...unacknowledged]) {
        unacknowledged.delete(id);
        await send(id);
      }
      expect(unacknowledged.size).toBe(0);

      // Both sides equal: every person of A once on B, with A's latest name; nothing twice.
      await eventually(
        () => {
          const onB = contacts(dataDir);
          expect(onB.length).toBe(ids.length);
        },
        120_000,
      );
      const onB = contacts(dataDir);
      expect(new Set(onB.map((c) => c.email)).size).toBe(onB.length);
      const people = await peopleOnA(dataDir);
      expect(onB.map((c) => [c.email, c.full_name]).sort()).toEqual(people.map((p) => [p.email, p.name]).sort());
      expect(acknowledged.size).toBeGreaterThan(0);

      // No two passes of the flow overlapped, across all members, the killed one's included.
      const runs = await schema.query<{ started_at: string; finished_at: string | null; status: string }>(
        `select started_at, finished_at, status from "${schema.name}".runs where flow_id = 'people' and dry_run = 0 order by started_at`,
      );
      expect(runs.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < runs.length; i++) {
        const previous = runs[i - 1]!;
        expect(previous.finished_at, `run ${i - 1} never finished`).not.toBeNull();
        expect(previous.finished_at! <= runs[i]!.started_at, `runs ${i - 1} and ${i} overlap`).toBe(true);
      }
      // The killed member's run was marked interrupted by the pass that took the flow over, which ran on a survivor.
      const killed = members.find((m) => !m.alive)!;
      const byProcess = await schema.query<{ process: string; status: string; error: string | null }>(
        `select process, status, error from "${schema.name}".runs where flow_id = 'people' order by started_at`,
      );
      const interrupted = byProcess.filter((run) => run.process.endsWith(`:${killed.child.pid}`));
      expect(interrupted.map((run) => run.status)).toContain('failed');
      expect(interrupted.find((run) => run.status === 'failed')?.error).toMatch(/^interrupted: the process running this pass stopped or died/);
      expect(byProcess.every((run) => run.process !== null)).toBe(true);
      console.log(
        `cluster: ${ids.length} people, ${acknowledged.size} events acknowledged, member ${killed.child.pid} killed mid-pass; runs by process: ${byProcess.map((run) => `${run.process} ${run.status}`).join(', ')}`,
      );
      // The survivors are the cluster now, once a monitor (beating every second) has seen the killed one's lock gone:
      // the flow can be taken over and synced before that, so the test may get here first.
      await eventually(async () => {
        const after = (await api(members.find((m) => m.alive)!, '/api/cluster')) as { members: Array<{ pid: number }> };
        expect(after.members.map((m) => m.pid).sort()).toEqual(members.filter((m) => m.alive).map((m) => m.child.pid).sort());
      });
    },
    600_000,
  );
});

describe.skipIf(skipPostgres())('two serve processes and a table that notifies its changes', () => {
  it(
    'listen with one process, store each change once, and the other takes over and catches up when it dies',
    async () => {
      const { schema, dataDir, state } = await clusterGround('syncline_cluster_notify', ['b.db']);
      const source = await createTestSchema('syncline_cluster_source');
      cleanups.push(() => source.drop());
      const table = `"${source.name}".people`;
      await source.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text, email text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
      const first = await startMember(dataDir, state);
      // A polls hourly: what reaches B within the test came by a notification, or by a catch-up pass.
      const flow = peopleFlow({ id: 'people', detect: { mode: 'poll', intervalMs: 3_600_000 } }) as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
      const a = flow.nodes.find((node) => node.id === 'a')!;
      a.config = { ...a.config, connector: 'postgres', connection: { url: databaseUrl, notify: true }, collection: `${source.name}.people` };
      await api(first, '/api/flows', flow);
      await api(first, '/api/flows/people/deploy', undefined, 'POST');
      type Self = { self: { listening: string[]; standingBy: string[] } };
      await eventually(async () => expect(((await api(first, '/api/cluster')) as Self).self.listening).toEqual(['people/a']));
      const second = await startMember(dataDir, state);
      await eventually(async () => expect(((await api(second, '/api/cluster')) as Self).self).toMatchObject({ listening: [], standingBy: ['people/a'] }));
      // One session listens at the server, so a change is stored once.
      const listens = async () =>
        Number((await schema.query<{ n: string }>(`select count(*) as n from pg_stat_activity where query = $1`, [`LISTEN "${channelFor(source.name, 'people')}"`]))[0]!.n);
      expect(await listens()).toBe(1);
      const insert = async (name: string) => (await source.query<{ id: number }>(`INSERT INTO ${table} (name, email) VALUES ($1, $2) RETURNING id`, [name, `${name.split(' ')[0]!.toLowerCase()}@example.com`]))[0]!.id;
      const ada = await insert('Ada Lovelace');
      await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name)).toContain('Ada Lovelace'));
      const events = await schema.query<{ record_id: string }>(`select record_id from "${schema.name}".webhook_events where record_id = $1`, [String(ada)]);
      expect(events).toHaveLength(1);

      // The listener dies; a row written while nobody listens comes by the catch-up pass of the one that takes over.
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      await insert('Grace Hopper');
      await eventually(async () => expect(((await api(second, '/api/cluster')) as Self).self).toMatchObject({ listening: ['people/a'], standingBy: [] }));
      await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name).sort()).toEqual(['Ada Lovelace', 'Grace Hopper']));
      await insert('Edsger Dijkstra');
      await eventually(() => expect(contacts(dataDir)).toHaveLength(3));
      expect(await listens()).toBe(1);
    },
    300_000,
  );
});

async function peopleOnA(dir: string): Promise<Array<{ name: string; email: string }>> {
  const { default: Sqlite } = await import('better-sqlite3');
  const a = new Sqlite(join(dir, 'a.db'), { readonly: true });
  try {
    return a.prepare('SELECT name, email FROM people').all() as Array<{ name: string; email: string }>;
  } finally {
    a.close();
  }
}
