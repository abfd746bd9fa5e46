import { describe, expect, it } from 'vitest';
import { BULK_CHANGES, BULK_PAGE_SIZE, DEFAULT_PAGE_SIZE } from '../../runtime/engine/pass/passState';
import { contents, memoryHarness } from './memory-flows';

// A pass merges and commits its staged changes a page at a time; an import (more than BULK_CHANGES of them) in pages
// of BULK_PAGE_SIZE, so its commits share the state's index pages (passState.ts). Each merged page reports its progress
// once, from the conflict node, with the writes made so far.

/** Imports `count` records of side a into an empty b; returns the writes counted after each merged page. */
async function writesPerPage(count: number, seed: number): Promise<{ written: number[]; equal: boolean }> {
  const h = await memoryHarness({ sides: ['a', 'b'] }, seed);
  for (let i = 0; i < count; i++) h.sides.a!.insert({ email: `p${i}@example.com`, name: `Person ${i}` }, { id: `a-${i}` });
  const written: number[] = [];
  const result = await h.pass({ onProgress: (progress) => (progress.nodeId === 'hub' ? written.push(progress.written) : undefined) });
  expect(result).toMatchObject({ status: 'ok', summary: { created: count, failed: 0, conflicts: 0 } });
  const equal = JSON.stringify(contents(h.sides.a!)) === JSON.stringify(contents(h.sides.b!));
  await h.engine.close();
  await h.db.destroy();
  return { written, equal };
}

/** The writes counted after each page of `size` over `count` creates. */
function expectedPages(count: number, size: number): number[] {
  return Array.from({ length: Math.ceil(count / size) }, (_, index) => Math.min((index + 1) * size, count));
}

describe('the pages a pass merges', () => {
  // Odd seeds stage in memory, even ones in a temporary file (memoryHarness).
  for (const seed of [1, 2]) {
    it(`are of ${DEFAULT_PAGE_SIZE} changes up to ${BULK_CHANGES} (seed ${seed})`, async () => {
      const { written, equal } = await writesPerPage(1_200, seed);
      expect(written).toEqual(expectedPages(1_200, DEFAULT_PAGE_SIZE));
      expect(equal).toBe(true);
    });

    it(`are of ${BULK_PAGE_SIZE} changes in an import of more (seed ${seed})`, async () => {
      const count = BULK_CHANGES + 1;
      const { written, equal } = await writesPerPage(count, seed);
      expect(written).toEqual(expectedPages(count, BULK_PAGE_SIZE));
      expect(equal).toBe(true);
    });
  }
});
