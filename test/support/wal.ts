import type Sqlite from 'better-sqlite3';
import { readFileSync } from 'node:fs';

/**
 * How many pages of each b-tree (table or index, by name) a SQLite file's WAL holds frames of: what the transactions
 * since its last checkpoint wrote. Each frame is a 24-byte header, the page number first, then the page; `file` is a
 * connection to the same database, to map pages to b-trees through `dbstat`.
 */
export function btreesInWal(file: Sqlite.Database, path: string): Map<string, number> {
  const pageSize = file.pragma('page_size', { simple: true }) as number;
  const wal = readFileSync(`${path}-wal`);
  const pages = new Set<number>();
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) pages.add(wal.readUInt32BE(offset));
  const owners = new Map<string, number>();
  for (const { name, pageno } of file.prepare('select name, pageno from dbstat').all() as Array<{ name: string; pageno: number }>) {
    if (pages.has(pageno)) owners.set(name, (owners.get(name) ?? 0) + 1);
  }
  return owners;
}
