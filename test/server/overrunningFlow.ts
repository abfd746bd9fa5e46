import Sqlite from 'better-sqlite3';
import { join } from 'node:path';
import { openStateDb } from '../../runtime/db/index';
import { isPostgresUrl } from '../../runtime/util/postgresUrl';
import { peopleFlow } from './support';

/** An expression that recurses until the expression time limit (100 ms) stops it: legal, and as slow as allowed. */
export const SPIN_EXPRESSION = '($spin := function($n) { $spin($n + 1) }; $spin(0))';

/**
 * The people flow (a.db people <-> b.db contacts) with a transform that spends the full expression time limit on every
 * record coming from `a`: a pass over N people takes N / 10 seconds, all of it on one page (N <= 500), where the
 * engine has no point to stop at. `folder` puts its databases in a subfolder of the data folder, so several flows can
 * sit side by side.
 */
export function overrunningFlow(options: { id: string; folder?: string; detect?: unknown }): Record<string, unknown> {
  const flow = peopleFlow({ id: options.id, detect: options.detect ?? { mode: 'manual' } }) as { nodes: Array<Record<string, unknown>>; edges: Array<Record<string, unknown>> };
  if (options.folder) {
    for (const node of flow.nodes) {
      const connection = (node.config as { connection?: { file: string } } | undefined)?.connection;
      if (connection) connection.file = `${options.folder}/${connection.file}`;
    }
  }
  flow.nodes.push({
    id: 'spin',
    type: 'transform',
    typeVersion: 1,
    position: { x: 120, y: 0 },
    config: { ops: [{ op: 'expression', target: 'spun', forward: SPIN_EXPRESSION }] },
  });
  flow.edges = [{ id: 'e0', source: 'a', target: 'spin' }, { id: 'e1', source: 'spin', target: 'map' }, ...flow.edges.filter((edge) => edge.id !== 'e1')];
  return flow;
}

/** Adds `count` people to `dir`/a.db in one transaction. */
export function addPeople(dir: string, count: number): void {
  const a = new Sqlite(join(dir, 'a.db'));
  const insert = a.prepare('INSERT INTO people (name, email, updated_at) VALUES (?, ?, ?)');
  const now = new Date().toISOString();
  a.transaction(() => {
    for (let index = 0; index < count; index++) insert.run(`Person ${index}`, `person${index}@example.com`, now);
  })();
  a.close();
}

/**
 * The runs of a flow in a state, newest first, read on a connection of their own: a state file (none when there is no
 * file yet, or it is not migrated) or a postgres:// state URL.
 */
export async function runsIn(state: string, flowId: string): Promise<Array<{ status: string; error: string | null }>> {
  if (isPostgresUrl(state)) {
    const db = await openStateDb(state, { poolSize: 1 });
    try {
      return await db.selectFrom('runs').select(['status', 'error']).where('flow_id', '=', flowId).orderBy('started_at', 'desc').execute();
    } finally {
      await db.destroy();
    }
  }
  let file: Sqlite.Database;
  try {
    file = new Sqlite(state, { readonly: true, fileMustExist: true, timeout: 1000 });
  } catch {
    return [];
  }
  try {
    return file.prepare('SELECT status, error FROM runs WHERE flow_id = ? ORDER BY started_at DESC').all(flowId) as Array<{ status: string; error: string | null }>;
  } catch {
    // Not migrated yet.
    return [];
  } finally {
    file.close();
  }
}
