/**
 * Where an initial sync's state time goes, statement by statement: one `run --once` pass of the engine bench's
 * two-system flow over N generated records (default 20,000), with Kysely's `log` timing every state statement. Lists
 * the total, then the statements by time (values lists folded). How bench/engine.notes.md's per-statement figures are
 * taken:
 *
 *   node --import tsx bench/stateStatements.ts [records] [--changes K]
 *
 * With `--changes K`, the initial sync and the echo pass after it are not timed; K records of A are then edited
 * (bench/engine.ts editSource) and the pass that carries them is: an incremental pass's statements.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Kysely } from 'kysely';
import { editSource, generateSource, twoSystemFlow, prepareWorkspace } from './engine';
import { openSqliteFile, migrateToLatest } from '../runtime/db/index';
import { ImmediateSqliteDialect } from '../runtime/db/immediateTransactions';
import { cachingStatements } from '../runtime/db/statementCache';
import { SyncEngine } from '../runtime/engine/engine';
import { connectorRegistry } from '../runtime/connectors/index';
import type { Database } from '../runtime/db/schema';

const n = Number(process.argv[2] ?? 20000);
const changesAt = process.argv.indexOf('--changes');
const changes = changesAt < 0 ? 0 : Number(process.argv[changesAt + 1]);
const work = mkdtempSync(join(tmpdir(), 'sp-'));
const source = join(work, 'source.db');
generateSource(source, n);
const dir = prepareWorkspace(work, 'run', source, [['b.db', 'contacts']]);
const stats = new Map<string, { count: number; ms: number }>();
let on = false;
const db = new Kysely<Database>({
  dialect: new ImmediateSqliteDialect({ database: cachingStatements(openSqliteFile(join(dir, 'state.db'))) }),
  log: (event) => {
    if (!on) return;
    const key = event.query.sql.replace(/\(\?(, \?)*\)(, \(\?(, \?)*\))*/g, '(…)').replace(/in \([^)]*\)/g, 'in (…)').slice(0, 110);
    const s = stats.get(key) ?? { count: 0, ms: 0 };
    s.count++; s.ms += event.queryDurationMillis; stats.set(key, s);
  },
});
await migrateToLatest(db);
const engine = new SyncEngine({ db, connectors: connectorRegistry });
if (changes > 0) {
  for (const reason of ['initial sync', 'echo pass']) {
    const untimed = await engine.runPass(twoSystemFlow(), { baseDir: dir, reason: 'cli' });
    console.log(`${reason} (not timed):`, untimed.status, JSON.stringify(untimed.summary));
  }
  editSource(dir, n, changes, 1);
}
on = true;
const t = performance.now();
const result = await engine.runPass(twoSystemFlow(), { baseDir: dir, reason: 'cli' });
const ms = performance.now() - t;
console.log(result.status, JSON.stringify(result.summary), `${ms.toFixed(0)} ms`);
let total = 0;
for (const [, s] of stats) total += s.ms;
console.log(`state SQL total ${total.toFixed(0)} ms`);
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(s.ms.toFixed(0).padStart(6), String(s.count).padStart(6), k);
await engine.close();
await db.destroy();
