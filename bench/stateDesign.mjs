/**
 * What a state layout costs a pass of changes, measured below the engine: the state statements a pass makes for K
 * changed records over N linked ones (pages of 500: read the links and entities; journal the page and save the golden
 * records in one transaction; then save the links and the run log, delete the journal row and commit, as
 * runtime/engine/pass/commit.ts does), in plain better-sqlite3 with the state's pragmas, for three layouts of the same
 * data:
 *
 *   today      entities, and links keyed by (flow, node, record) each holding its shadow (the state before the
 *              2026_12_07_0900 migration)
 *   clustered  the same links keyed by (entity, node, record), with a unique index by record
 *   onerow     one row per entity holding its links' shadows, versions and written marks, and a narrow record →
 *              entity index (issue 14's "one row per linked entity"; the state since that migration)
 *
 *   node bench/stateDesign.mjs today|clustered|onerow N [K=1000] [rounds=6]
 *
 * Prints the time of each round's reads, statements and commits. The rows are shaped like the engine bench's (four
 * fields, a provenance entry, a run-log line per change); bench/engine.notes.md says what the layouts measured.
 */
import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const [layout, recordsArg, changesArg, roundsArg] = process.argv.slice(2);
if (!['today', 'clustered', 'onerow'].includes(layout) || !Number(recordsArg)) {
  console.error('usage: node bench/stateDesign.mjs today|clustered|onerow N [K=1000] [rounds=6]');
  process.exit(2);
}
const N = Number(recordsArg);
const CHANGES = Number(changesArg ?? 1000);
const ROUNDS = Number(roundsArg ?? 6);
const PAGE = 500;
const FLOW = 'bench-two';
const oneRow = layout === 'onerow';

const dir = mkdtempSync(join(tmpdir(), 'state-design-'));
const db = new Sqlite(join(dir, 'state.db'));
// The state's own settings (runtime/db/index.ts).
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('temp_store = MEMORY');

let clock = 0;
const now = () => new Date(1.8e12 + clock++).toISOString();
// Time-ordered like writeId: entities made together sit together.
const entityId = (i) => `01a23cbd-${(i >> 16).toString(16).padStart(4, '0')}-7${(i & 0xffff).toString(16).padStart(3, '0')}-8${String(i).padStart(11, '0')}`;
const indexOf = (id) => Number(id.slice(-11));
const fields = (i, generation) => ({ email: `grace.liskov.${i}@example.com`, name: `Grace Liskov${generation}`, stage: 'Closed Won', deal_value: 9399.44 + generation });
const provenance = (generation) => JSON.stringify({ by: [['a', randomUUID(), generation ? 'changed' : 'first sync', new Date(1e12 + generation).toISOString()]], rest: 0 });
const version = (i, generation) => JSON.stringify(new Date(1.7e12 + i * 1000 + generation).toISOString());
const written = (generation) => (generation ? { tag: randomUUID(), hash: `h${randomUUID()}` } : { tag: null, hash: null });
const sides = (i, generation) =>
  JSON.stringify(
    Object.fromEntries(
      ['a', 'b'].map((node) => {
        const mark = node === 'b' ? written(generation) : written(0);
        return [node, { [String(i)]: { shadow: fields(i, generation), version: version(i, generation), updated_at: now(), written_tag: mark.tag, written_hash: mark.hash } }];
      }),
    ),
  );

db.exec(`
  create table run_log (id integer primary key autoincrement, run_id text not null, node_id text not null, record_id text, entity_id text, outcome text not null, fields text, message text, at text not null);
  create index run_log_by_run on run_log (run_id);
  create table write_ahead (page text not null primary key, flow_id text not null, created_at text not null, writes text not null, links text not null);
  create index write_ahead_by_flow on write_ahead (flow_id, page);
  create table entities (id text primary key not null, flow_id text not null, golden text not null, match_key text, deleted integer not null default 0,
    breaker_window_start text, breaker_writes integer not null default 0, quarantined integer not null default 0, created_at text not null,
    updated_at text not null, provenance text${oneRow ? ', sides text not null' : ''}) without rowid;
  create index entities_by_match on entities (flow_id, match_key);
`);
if (oneRow) {
  db.exec(`create table links (flow_id text not null, node_id text not null, record_id text not null, entity_id text not null, deleted integer not null default 0,
    primary key (flow_id, node_id, record_id)) without rowid`);
} else {
  const key = layout === 'today' ? 'flow_id, node_id, record_id' : 'entity_id, node_id, record_id';
  db.exec(`create table links (flow_id text not null, node_id text not null, record_id text not null, entity_id text not null, shadow text, version text,
    deleted integer not null default 0, updated_at text not null, shadow_hash text, written_tag text, written_hash text, primary key (${key})) without rowid`);
  db.exec(layout === 'today' ? 'create index links_by_entity on links (entity_id, node_id)' : 'create unique index links_by_record on links (flow_id, node_id, record_id)');
}

// The state an import leaves: N entities, 2N links, N run-log lines, written a page of 2,000 at a time.
const statements = new Map();
const prepared = (sql) => {
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement;
};
const insertEntity = oneRow ? 'insert into entities values (?, ?, ?, ?, 0, null, 0, 0, ?, ?, ?, ?)' : 'insert into entities values (?, ?, ?, ?, 0, null, 0, 0, ?, ?, ?)';
const insertLink = oneRow ? 'insert into links values (?, ?, ?, ?, 0)' : 'insert into links values (?, ?, ?, ?, ?, ?, 0, ?, null, null, null)';
const insertLog = 'insert into run_log (run_id, node_id, record_id, entity_id, outcome, fields, message, at) values (?, ?, ?, ?, ?, ?, null, ?)';
const filling = performance.now();
for (let start = 0; start < N; start += 2000) {
  db.transaction(() => {
    for (let i = start; i < Math.min(N, start + 2000); i++) {
      const id = entityId(i);
      const golden = JSON.stringify(fields(i, 0));
      const at = now();
      const entity = [id, FLOW, golden, `grace.liskov.${i}@example.com`, at, at, provenance(0)];
      prepared(insertEntity).run(...(oneRow ? [...entity, sides(i, 0)] : entity));
      for (const node of ['a', 'b']) prepared(insertLink).run(...(oneRow ? [FLOW, node, String(i), id] : [FLOW, node, String(i), id, golden, version(i, 0), at]));
      const created = Object.entries(fields(i, 0)).map(([field, after]) => ({ field, before: null, after }));
      prepared(insertLog).run('run0', 'b', String(i), id, 'created', JSON.stringify(created), at);
    }
  })();
}
db.pragma('wal_checkpoint(TRUNCATE)');
const fillMs = performance.now() - filling;

let seed = 12345;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const placeholders = (n) => Array(n).fill('?').join(', ');
let generation = 1;

/** One pass's state statements for CHANGES random records of A, in pages. */
function round() {
  const time = { read: 0, write: 0, commit: 0 };
  const picked = new Set();
  while (picked.size < CHANGES) picked.add(Math.floor(random() * N));
  const records = [...picked].map(String);
  for (let start = 0; start < records.length; start += PAGE) {
    const page = records.slice(start, start + PAGE);
    generation++;
    let began = performance.now();
    let entities;
    if (oneRow) {
      const ids = prepared(`select entity_id from links where flow_id = ? and node_id = ? and record_id in (${placeholders(page.length)})`).pluck().all(FLOW, 'a', ...page);
      entities = prepared(`select * from entities where id in (${placeholders(ids.length)})`).all(...ids);
      for (const entity of entities) JSON.parse(entity.sides);
    } else {
      const ids = prepared(`select * from links where flow_id = ? and node_id = ? and record_id in (${placeholders(page.length)})`).all(FLOW, 'a', ...page).map((link) => link.entity_id);
      entities = prepared(`select * from entities where id in (${placeholders(ids.length)})`).all(...ids);
      prepared(`select * from links where entity_id in (${placeholders(ids.length)})`).all(...ids);
    }
    time.read += performance.now() - began;

    began = performance.now();
    const journalPage = randomUUID();
    const intended = JSON.stringify(entities.map((entity) => ({ entity: entity.id, fields: JSON.parse(entity.golden), tag: randomUUID() })));
    // As the engine commits a page (runtime/engine/pass/commit.ts): the golden records are saved with the page's
    // journal row before any write, and the links with the run log in the transaction that deletes the row after.
    const goldens = new Map();
    db.transaction(() => {
      prepared('insert into write_ahead values (?, ?, ?, ?, ?)').run(journalPage, FLOW, now(), intended, '[]');
      for (const entity of entities) {
        const golden = JSON.stringify(fields(indexOf(entity.id), generation));
        goldens.set(entity.id, golden);
        prepared(`${insertEntity} on conflict (id) do update set golden = excluded.golden, provenance = excluded.provenance, updated_at = excluded.updated_at`).run(
          entity.id, FLOW, golden, entity.match_key, entity.created_at, now(), provenance(generation), ...(oneRow ? ['{}'] : []),
        );
      }
    })();
    db.exec('begin immediate');
    for (const entity of entities) {
      const i = indexOf(entity.id);
      const at = now();
      const golden = goldens.get(entity.id);
      if (oneRow) {
        prepared('update entities set sides = ? where id = ?').run(sides(i, generation), entity.id);
      } else {
        for (const node of ['a', 'b']) {
          const mark = node === 'b' ? written(generation) : written(0);
          prepared(
            `insert into links values (?, ?, ?, ?, ?, ?, 0, ?, null, ?, ?) on conflict (flow_id, node_id, record_id) do update set shadow = excluded.shadow,
             version = excluded.version, updated_at = excluded.updated_at, written_tag = coalesce(excluded.written_tag, links.written_tag),
             written_hash = coalesce(excluded.written_hash, links.written_hash)`,
          ).run(FLOW, node, String(i), entity.id, golden, version(i, generation), at, mark.tag, mark.hash);
        }
      }
      prepared(insertLog).run(`run${generation}`, 'b', String(i), entity.id, 'updated', JSON.stringify([{ field: 'name', before: 'x', after: 'y' }]), at);
    }
    prepared('delete from write_ahead where page = ?').run(journalPage);
    const committing = performance.now();
    time.write += committing - began;
    db.exec('commit');
    time.commit += performance.now() - committing;
  }
  return time;
}

// Two rounds to warm the caches as a long-running `serve` would have them.
round();
round();
const rounds = Array.from({ length: ROUNDS }, round);
const bytes = db.prepare('select page_count * page_size as n from pragma_page_count(), pragma_page_size()').get().n;
const row = (name, values) => console.log(`  ${name.padEnd(7)}${values.map((ms) => ms.toFixed(1).padStart(7)).join('')} ms`);
console.log(`${layout}: ${N.toLocaleString('en')} linked, ${CHANGES.toLocaleString('en')} changes a round; filled in ${(fillMs / 1000).toFixed(1)} s, state ${(bytes / 1e6).toFixed(0)} MB`);
row('read', rounds.map((t) => t.read));
row('write', rounds.map((t) => t.write));
row('commit', rounds.map((t) => t.commit));
row('total', rounds.map((t) => t.read + t.write + t.commit));
db.close();
rmSync(dir, { recursive: true, force: true });
