/**
 * The floor under the incremental pass's ratio (issue 14: a pass of 1,000 changes over 1,000,000 linked records within
 * 1.5× of the same over 10,000): what the two systems alone cost for those changes at each size, with no engine and no
 * state. On the engine bench's tables (bench/engine.ts), with connections kept open as `serve` keeps them, each round
 * edits 1,000 records of A from another connection, then times what any pass must do against the systems:
 *
 *   list    A's changes since the last round, through its updated_at index (the sqlite connector's listing)
 *   count   A's rows: the delete check of a side another connection edited (pass/deleteScan.ts)
 *   read    the 1,000 linked records of B, by id (the other side of each entity, pass/link.ts readUnreadSides)
 *   write   the 1,000 updates on B, one transaction
 *
 *   node --import tsx bench/incrementalFloor.ts [--rounds 5] [--sizes 10000,1000000]
 *
 * Prints each part's time per round and size, and the ratio of the totals; bench/engine.notes.md says what it showed.
 * The engine bench runs it too (`incrementalFloor`), so the report shows the floor beside the ratio it bounds.
 */
import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { editSource, generateSource, prepareWorkspace, rawCopy } from './engine';
import { option } from './options';

const PAGE = 500;

/** One round's time for each part, in milliseconds. */
export interface FloorParts {
  list: number;
  count: number;
  read: number;
  write: number;
}

/** All four parts of a round: what any pass of those changes costs the two systems. */
export function floorTotal(part: FloorParts): number {
  return part.list + part.count + part.read + part.write;
}

/**
 * `rounds` measured rounds of `changes` edits per size (after one unmeasured), in a folder of its own under `work`
 * that is removed again.
 */
export function incrementalFloor(work: string, sizes: readonly number[], changes: number, rounds: number): Map<number, FloorParts[]> {
  const results = new Map<number, FloorParts[]>();
  for (const size of sizes) {
    const folder = mkdtempSync(join(work, 'incremental-floor-'));
    try {
      results.set(size, floorRounds(folder, size, changes, rounds));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }
  return results;
}

function floorRounds(work: string, size: number, changes: number, rounds: number): FloorParts[] {
  const source = join(work, 'source.db');
  generateSource(source, size);
  const dir = prepareWorkspace(work, 'pair', source, [['b.db', 'contacts']]);
  // B as an initial sync leaves it: one row per record of A, ids in A's order.
  rawCopy(dir);
  const a = new Sqlite(join(dir, 'a.db'));
  const b = new Sqlite(join(dir, 'b.db'));
  try {
    for (const db of [a, b]) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    // Keyset pages as the sqlite connector reads them: the rest of the last version's ties, then what comes after it.
    const ties = a.prepare('select * from people where updated_at = ? and id > ? order by id limit ?');
    const after = a.prepare('select * from people where updated_at > ? order by updated_at, id limit ?');
    const listPage = (version: string, afterKey: number, limit: number) => {
      const page = ties.all(version, afterKey, limit);
      return page.length < limit ? [...page, ...after.all(version, limit - page.length)] : page;
    };
    const count = a.prepare('select count(*) from people').pluck();
    const readPage = (ids: number[]) => b.prepare(`select * from contacts where id in (${ids.map(() => '?').join(', ')})`).all(...ids);
    const update = b.prepare('update contacts set name = ?, modified_at = ? where id = ?');
    let since = (a.prepare('select max(updated_at) from people').pluck().get() as string) ?? '';
    let afterId = Number.MAX_SAFE_INTEGER;
    const parts: FloorParts[] = [];
    // One round unmeasured, to warm what a long-running process would have warm.
    for (let round = 0; round <= rounds; round++) {
      editSource(dir, size, changes, round + 1);
      let started = performance.now();
      const changed: Array<{ id: number; updated_at: string; last_name: string }> = [];
      for (;;) {
        const page = listPage(since, afterId, PAGE) as Array<{ id: number; updated_at: string; last_name: string }>;
        if (page.length === 0) break;
        changed.push(...page);
        const last = page[page.length - 1] as { id: number; updated_at: string };
        since = last.updated_at;
        afterId = last.id;
      }
      const list = performance.now() - started;
      started = performance.now();
      count.get();
      const counted = performance.now() - started;
      started = performance.now();
      const ids = changed.map((row) => row.id);
      for (let index = 0; index < ids.length; index += PAGE) readPage(ids.slice(index, index + PAGE));
      const read = performance.now() - started;
      started = performance.now();
      const stamp = new Date().toISOString();
      b.transaction(() => {
        for (const row of changed) update.run(row.last_name, stamp, row.id);
      })();
      const write = performance.now() - started;
      if (changed.length !== changes) throw new Error(`round ${round}: listed ${changed.length} changes, not ${changes}`);
      if (round > 0) parts.push({ list, count: counted, read, write });
    }
    return parts;
  } finally {
    a.close();
    b.close();
  }
}

function cli(): void {
  const rounds = Number(option('rounds') ?? 5);
  const sizes = (option('sizes') ?? '10000,1000000').split(',').map(Number);
  const changes = 1000;
  const work = mkdtempSync(join(tmpdir(), 'incremental-floor-'));
  try {
    const results = incrementalFloor(work, sizes, changes, rounds);
    const fixed = (ms: number) => ms.toFixed(1).padStart(6);
    for (const [size, parts] of results) {
      console.log(`${size.toLocaleString('en')} records, ${changes.toLocaleString('en')} changes a round (ms):`);
      for (const key of ['list', 'count', 'read', 'write'] as const) console.log(`  ${key.padEnd(6)}${parts.map((part) => fixed(part[key])).join('')}`);
      console.log(`  total ${parts.map((part) => fixed(floorTotal(part))).join('')}`);
    }
    const [small, large] = sizes.map((size) => results.get(size) as FloorParts[]);
    if (small && large) console.log(`ratio, round by round: ${large.map((part, index) => (floorTotal(part) / floorTotal(small[index] as FloorParts)).toFixed(2)).join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) cli();
