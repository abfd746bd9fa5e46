/**
 * The floor under the initial sync's ratio (issue 14: an initial sync of 100,000 records within 5× of the raw copy):
 * what writing a state costs on its own, with no engine. Each layout below is the raw copy of bench/engine.ts (A read,
 * transformed and inserted into B by plain better-sqlite3) plus the state rows that layout keeps per record, written
 * with prepared statements in the engine's pages of 2,000 and its transactions (pass/commit.ts: the entities and the
 * page's journal row before B's writes, the links and the run log after them, the journal row deleted):
 *
 *   raw       the raw copy alone (bench/engine.ts rawCopy: one transaction, no state)
 *   today     the state as the engine writes it now, in the migrated schema (runtime/db/migrations): per record an
 *             entity (golden record, provenance, match key) whose row then takes both links' state (shadows, versions,
 *             write marks), a narrow row per link, a run-log line with every field created, and the page's journal row
 *             holding each write and link
 *   one-row   one row per entity holding its golden record, provenance and both links, each shadow left out where it is
 *             the golden record (as here), a narrow (flow, node, record) → entity index row per link, the journal row,
 *             and a run log of one row per page
 *   page      the import design of bench/engine.notes.md (fifth round): one row per page holding its entities (golden
 *             record, provenance, both links), a narrow (flow, node, record) → entity row per link, and the match keys
 *             appended to an unindexed table, indexed once at the end
 *
 * The same again for the three-system hub (A → empty B and C, bench/engine.ts hubFlow), whose target is a rate.
 * Each layout runs in a fresh workspace with the state's WAL checkpointed on another thread, as `run` opens it.
 *
 *   node --import tsx bench/importFloor.ts [--runs 3] [--records 100000]
 *
 * Prints each layout's time and its ratio to the raw copy of the same round; bench/engine.notes.md says what it showed.
 */
import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BackgroundCheckpoints } from '../runtime/db/checkpoints';
import { migrateToLatest, openSqliteFile, wrapSqlite } from '../runtime/db/index';
import { timeOrderedUuid } from '../runtime/engine/ids';
import { BULK_PAGE_SIZE } from '../runtime/engine/pass/passState';
import { generateSource, prepareWorkspace, rawCopy, STATUSES, TWO_SYSTEM_FLOW_ID } from './engine';
import { option } from './options';


type Person = { id: number; first_name: string; last_name: string; email: string; status: string; amount: number; updated_at: string };
export type StateLayout = 'today' | 'one-row' | 'page';
const LAYOUTS: StateLayout[] = ['today', 'one-row', 'page'];

/** A record of A on its way: the entity it makes, its golden record, and the write's tag on each target. */
interface Imported {
  id: string;
  person: Person;
  golden: { email: string; name: string; stage: string | null; deal_value: number };
  goldenJson: string;
  tags: string[];
}

/** A page as every layout sees it: its records, their ids on each target, the run and the time. */
interface Page {
  runId: string;
  stamp: string;
  provenance: string;
  entities: Imported[];
  /** Per target, in the order of `targets`: the id each record was created with. */
  created: string[][];
}

/** What a layout writes in the transaction after a page's writes (the one before is the same for all: the journal). */
type StateWriter = (page: Page) => void;

/** The narrow (flow, node, record) → entity rows both new layouts keep per link, for lookups by record. */
const RECORD_LINKS = `create table record_links (flow_id text not null, node_id text not null, record_id text not null, entity_id text not null,
  primary key (flow_id, node_id, record_id)) without rowid;`;

function recordLinkInsert(s: Sqlite.Database): Sqlite.Statement {
  return s.prepare('insert into record_links (flow_id, node_id, record_id, entity_id) values (?, ?, ?, ?)');
}

const EXTRA_TABLES: Record<StateLayout, string> = {
  today: '',
  'one-row': `create table entity_rows (id text primary key not null, flow_id text not null, golden text not null, match_key text,
      provenance text, links text not null, created_at text not null, updated_at text not null) without rowid;
    create index entity_rows_by_match on entity_rows (flow_id, match_key);
    ${RECORD_LINKS}
    create table page_log (id integer primary key, run_id text not null, lines text not null);`,
  page: `create table import_pages (id integer primary key, run_id text not null, entities text not null);
    ${RECORD_LINKS}
    create table import_keys (match_key text not null, entity_id text not null);`,
};

/** Opens the state as `run` does: migrated, statement journals in memory, checkpoints on another thread. */
async function openState(file: string, layout: StateLayout): Promise<{ sqlite: Sqlite.Database; close: () => Promise<void> }> {
  const sqlite = openSqliteFile(file);
  const checkpoints = BackgroundCheckpoints.start(file, sqlite);
  const db = wrapSqlite(sqlite, () => checkpoints.stop());
  await migrateToLatest(db);
  sqlite.pragma('temp_store = MEMORY');
  sqlite.exec(EXTRA_TABLES[layout]);
  return { sqlite, close: () => db.destroy() };
}

/**
 * The per-record rows of today's state (pass/commit.ts): entities, then their links' state in the entity's row
 * (runtime/db/entitySides.ts) and a narrow row per link, and a run-log line per write.
 */
function todayWriter(s: Sqlite.Database, targets: string[]): { before: StateWriter; after: StateWriter } {
  const entity = s.prepare(`insert into entities (id, flow_id, golden, match_key, deleted, breaker_window_start, breaker_writes, quarantined, created_at, updated_at, provenance)
    values (?, ?, ?, ?, 0, ?, 0, 0, ?, ?, ?)`);
  const link = s.prepare('insert into links (flow_id, node_id, record_id, entity_id, deleted) values (?, ?, ?, ?, 0)');
  const sides = s.prepare('update entities set sides = ? where id = ?');
  const log = s.prepare('insert into run_log (run_id, node_id, record_id, entity_id, outcome, fields, message, at) values (?, ?, ?, ?, ?, ?, null, ?)');
  return {
    before: ({ entities, stamp, provenance }) => {
      for (const item of entities) entity.run(item.id, TWO_SYSTEM_FLOW_ID, item.goldenJson, JSON.stringify([item.person.email]), stamp, stamp, stamp, provenance);
    },
    after: ({ entities, created, stamp, runId }) => {
      entities.forEach((item, index) => {
        const held: Record<string, Record<string, object>> = {
          a: { [String(item.person.id)]: { updated_at: stamp, shadow: item.goldenJson, version: JSON.stringify(item.person.updated_at) } },
        };
        link.run(TWO_SYSTEM_FLOW_ID, 'a', String(item.person.id), item.id);
        const fields = JSON.stringify(Object.entries(item.golden).map(([field, after]) => ({ field, before: null, after })));
        targets.forEach((target, t) => {
          const recordId = created[t]?.[index] as string;
          link.run(TWO_SYSTEM_FLOW_ID, target, recordId, item.id);
          held[target] = { [recordId]: { updated_at: stamp, shadow: item.goldenJson, version: JSON.stringify(stamp), written_tag: item.tags[t], written_hash: 'h' } };
          log.run(runId, target, recordId, item.id, 'created', fields, stamp);
        });
        sides.run(JSON.stringify(held), item.id);
      });
    },
  };
}

/** One row per entity with its links inside, a narrow index row per link, and the run log a row per page. */
function oneRowWriter(s: Sqlite.Database, targets: string[]): { before: StateWriter; after: StateWriter } {
  const entityRow = s.prepare('insert into entity_rows (id, flow_id, golden, match_key, provenance, links, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)');
  const recordLink = recordLinkInsert(s);
  const pageLog = s.prepare('insert into page_log (run_id, lines) values (?, ?)');
  return {
    before: () => undefined,
    after: ({ entities, created, stamp, runId, provenance }) => {
      const lines: unknown[] = [];
      entities.forEach((item, index) => {
        const links: unknown[] = [{ node: 'a', record: String(item.person.id), version: item.person.updated_at }];
        recordLink.run(TWO_SYSTEM_FLOW_ID, 'a', String(item.person.id), item.id);
        targets.forEach((target, t) => {
          const recordId = created[t]?.[index] as string;
          links.push({ node: target, record: recordId, version: stamp, tag: item.tags[t], hash: 'h' });
          recordLink.run(TWO_SYSTEM_FLOW_ID, target, recordId, item.id);
          lines.push([target, recordId, item.id]);
        });
        entityRow.run(item.id, TWO_SYSTEM_FLOW_ID, item.goldenJson, JSON.stringify([item.person.email]), provenance, JSON.stringify(links), stamp, stamp);
      });
      pageLog.run(runId, JSON.stringify({ outcome: 'created', lines }));
    },
  };
}

/** A row per page, a narrow index row per link, match keys appended unindexed (indexed once the import is done). */
function pageWriter(s: Sqlite.Database, targets: string[]): { before: StateWriter; after: StateWriter } {
  const importPage = s.prepare('insert into import_pages (run_id, entities) values (?, ?)');
  const recordLink = recordLinkInsert(s);
  const importKey = s.prepare('insert into import_keys (match_key, entity_id) values (?, ?)');
  return {
    before: () => undefined,
    after: ({ entities, created, stamp, runId, provenance }) => {
      const rows = entities.map((item, index) => {
        recordLink.run(TWO_SYSTEM_FLOW_ID, 'a', String(item.person.id), item.id);
        importKey.run(JSON.stringify([item.person.email]), item.id);
        const written = targets.map((target, t) => {
          const recordId = created[t]?.[index] as string;
          recordLink.run(TWO_SYSTEM_FLOW_ID, target, recordId, item.id);
          return [target, recordId, item.tags[t]];
        });
        return [item.id, item.golden, String(item.person.id), item.person.updated_at, written];
      });
      importPage.run(runId, JSON.stringify({ provenance, stamp, rows }));
    },
  };
}

const WRITERS: Record<StateLayout, typeof todayWriter> = { today: todayWriter, 'one-row': oneRowWriter, page: pageWriter };

/**
 * An initial sync's writes to the targets (`[file, table]` in `dir`, empty) and to a state of `layout`, page by page,
 * from `dir`/a.db; returns its time in ms.
 */
export async function stateFloor(dir: string, layout: StateLayout, targets: Array<[string, string]>): Promise<number> {
  // Opened and migrated before the clock starts, as the engine bench's timedPass opens it.
  const state = await openState(join(dir, `state-${layout}.db`), layout);
  const started = performance.now();
  const source = new Sqlite(join(dir, 'a.db'));
  const inserts = targets.map(([file, table]) => {
    const db = new Sqlite(join(dir, file));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare(`insert into ${table} (name, email, stage, deal_value, modified_at) values (?, ?, ?, ?, ?) returning id`).pluck();
    return { db, insert };
  });
  const s = state.sqlite;
  const journal = s.prepare('insert into write_ahead (page, flow_id, created_at, writes, links) values (?, ?, ?, ?, ?)');
  const unjournal = s.prepare('delete from write_ahead where page = ?');
  const writer = WRITERS[layout](s, targets.map((_, index) => String.fromCharCode(98 + index)));
  const runId = timeOrderedUuid();
  const rows = source.prepare('select * from people order by updated_at, id').iterate() as IterableIterator<Person>;
  for (let people = nextPage(rows); people.length > 0; people = nextPage(rows)) {
    const stamp = new Date().toISOString();
    const pageId = timeOrderedUuid();
    const stages = new Map(STATUSES.map((status) => [status.left, status.right]));
    const entities = people.map((person): Imported => {
      const golden = { email: person.email, name: `${person.first_name} ${person.last_name}`, stage: stages.get(person.status) ?? null, deal_value: person.amount };
      return { id: timeOrderedUuid(), person, golden, goldenJson: JSON.stringify(golden), tags: targets.map(() => `syncline:${TWO_SYSTEM_FLOW_ID}:${timeOrderedUuid()}`) };
    });
    const page: Page = { runId, stamp, provenance: JSON.stringify({ by: [['a', runId, 'first sync', stamp]], rest: 0 }), entities, created: [] };
    s.transaction(() => {
      writer.before(page);
      const writes = entities.flatMap((item) => item.tags.map((tag, t) => ({ tag, nodeId: String.fromCharCode(98 + t), entityId: item.id, recordId: null, hash: 'h', written: item.golden })));
      const links = entities.map((item) => ({ nodeId: 'a', recordId: String(item.person.id), entityId: item.id, version: JSON.stringify(item.person.updated_at) }));
      journal.run(pageId, TWO_SYSTEM_FLOW_ID, stamp, JSON.stringify(writes), JSON.stringify(links));
    })();
    for (const { db, insert } of inserts) {
      page.created.push(db.transaction(() => entities.map(({ golden }) => String(insert.get(golden.name, golden.email, golden.stage, golden.deal_value, stamp))))());
    }
    s.transaction(() => {
      writer.after(page);
      unjournal.run(pageId);
    })();
  }
  if (layout === 'page') s.exec('create index import_keys_by_match on import_keys (match_key)');
  source.close();
  for (const { db } of inserts) db.close();
  await state.close();
  return performance.now() - started;
}

function nextPage(rows: IterableIterator<Person>): Person[] {
  const page: Person[] = [];
  for (let next = rows.next(); !next.done; next = rows.next()) {
    page.push(next.value);
    if (page.length === BULK_PAGE_SIZE) break;
  }
  return page;
}

async function cli(): Promise<void> {
  const runs = Number(option('runs') ?? 3);
  const records = Number(option('records') ?? 100_000);
  const work = mkdtempSync(join(tmpdir(), 'import-floor-'));
  try {
    const source = join(work, 'source.db');
    generateSource(source, records);
    const times: Record<'raw' | StateLayout, number[]> = { raw: [], today: [], 'one-row': [], page: [] };
    const hub: Record<StateLayout, number[]> = { today: [], 'one-row': [], page: [] };
    const two: Array<[string, string]> = [['b.db', 'contacts']];
    const three: Array<[string, string]> = [...two, ['c.db', 'leads']];
    for (let run = 0; run < runs; run++) {
      times.raw.push(rawCopy(prepareWorkspace(work, 'raw', source, two)));
      for (const layout of LAYOUTS) times[layout].push(await stateFloor(prepareWorkspace(work, layout, source, two), layout, two));
      for (const layout of LAYOUTS) hub[layout].push(await stateFloor(prepareWorkspace(work, `hub-${layout}`, source, three), layout, three));
    }
    const fixed = (ms: number) => ms.toFixed(0).padStart(7);
    console.log(`${records.toLocaleString('en')} records, A → empty B (ms, then × the raw copy of the same round):`);
    for (const [layout, ms] of Object.entries(times)) {
      console.log(`  ${layout.padEnd(8)}${ms.map(fixed).join('')}   ${ms.map((value, index) => `${(value / (times.raw[index] as number)).toFixed(1)}×`).join(' ')}`);
    }
    console.log(`${records.toLocaleString('en')} records, A → empty B and C, the hub (ms, then records of A a second):`);
    for (const [layout, ms] of Object.entries(hub)) console.log(`  ${layout.padEnd(8)}${ms.map(fixed).join('')}   ${ms.map((value) => Math.round((records / value) * 1000).toLocaleString('en')).join(' ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await cli();
