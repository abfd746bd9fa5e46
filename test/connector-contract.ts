/**
 * The contract every connector passes (STYLE: one interface, one suite; after automerge-repo's
 * `runStorageAdapterTests`). A connector's test file calls {@link runConnectorContract} with a setup that opens it on an
 * empty collection with the data fields `email` (text), `name` (text) and `score` (number).
 *
 * Where a capability is off, the test checks the documented fallback instead of skipping: without conditional writes
 * an update with a stale version goes through; without incremental listing every poll lists everything; a system
 * whose delete closes or archives keeps the record, in that state.
 *
 * A connector without a change feed (`capabilities.changeFeed: false`) is listed whole on every pass and compared
 * record by record with what the runtime last saw (snapshot change detection, docs/connectors.md). It is held to what
 * that needs instead of to versions: a listing from the start that pages through every record once, in any order;
 * ids that stay the same from listing to listing and that reads by id accept; listed records that are the records a
 * read by id gives; edits and deletes made elsewhere showing in the next listing. Nothing is asked of `since`.
 *
 * A connector that can create a record under a given key (`capabilities.givenKeys`, for triggers with `keys:
 * "shared"`) is held to it: the record takes that key, and a key another record holds is never overwritten but
 * reported `taken`.
 *
 * A system with fields of its own (a SaaS API: an issue has a title and a body, not an email) names which of its
 * fields play `email`, `name` and `score` (`fieldNames`); the suite renames on the way in and out, so the tests read
 * the same for every connector. A system with no free numeric field plays `score` with none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../nodes/types';
import type { Connector, ListPage, ListPosition, SourceRecord, Version, WriteOp, WriteResult } from '../runtime/connectors/types';
import { compareVersions } from '../runtime/connectors/versions';

/** Changes made as another user of the system would make them, not through the connector. */
export interface ExternalEditor {
  /** Adds a record with a version later than every existing one; returns its id. */
  insert(fields: FlowRecord): Promise<string>;
  /** Adds records that share one version, as a bulk import in one instant would; returns their ids in order. */
  insertAtOneVersion(records: FlowRecord[]): Promise<string[]>;
  /** Changes fields (not the tag) and moves the record's version past every existing one. */
  update(id: string, fields: FlowRecord): Promise<void>;
  /** Removes the record for good (a hard delete). */
  delete(id: string): Promise<void>;
  /** Marks the record deleted with a new version, when the collection has a soft-delete field. */
  softDelete?(id: string): Promise<void>;
}

export interface ContractFixture {
  /** Opened on an empty collection with the fields email (text), name (text), score (number). */
  connector: Connector;
  /** The collection's name as describe() lists it. */
  collection: string;
  /** The key, updatedAt, tag and deleted-flag names of this collection: never data fields. */
  bookkeeping: string[];
  /** True when the connector's delete() marks records deleted rather than removing them. */
  softDeletes: boolean;
  external: ExternalEditor;
  /** The order the connector lists ids of equal version in; default: numbers numerically, other ids by code unit. */
  compareIds?: (a: string, b: string) => number;
  /** The system's fields that play the contract's `email` and `name` (text) and `score` (a number; null: none). */
  fieldNames?: { email: string; name: string; score: string | null };
  /** With `givenKeys`: a key the collection's key column can hold that no record has, different for each `n`. */
  newKey?: (n: number) => string;
  /** Where the delete meaning is `close` or `archive`: whether a record read back is in that state. */
  isClosed?: (record: SourceRecord) => boolean;
  /** Closes the connector (twice is fine) and removes what setup made. */
  teardown(): Promise<void>;
}

const dataFields = ['email', 'name', 'score'];
const start: ListPosition = { since: null, afterId: null };

/** Defines the connector contract tests for one connector; call it at the top level of a test file. */
export function runConnectorContract(name: string, setup: () => Promise<ContractFixture>): void {
  describe(`connector contract: ${name}`, () => {
    let current: ContractFixture | undefined;
    const fixture = (): ContractFixture => {
      if (!current) throw new Error('setup did not produce a fixture');
      return current;
    };
    // The connector under test, speaking the contract's vocabulary (see fieldNames).
    let renamed: { fixture: ContractFixture; connector: Connector } | undefined;
    const connector = (): Connector => {
      const current = fixture();
      if (renamed?.fixture !== current) renamed = { fixture: current, connector: renaming(current.connector, current.fieldNames) };
      return renamed.connector;
    };
    const numeric = (): boolean => fixture().fieldNames?.score !== null;
    const person = (index: number): FlowRecord => {
      const record = personRecord(index);
      if (!numeric()) delete record.score;
      return record;
    };
    const meaning = () => connector().capabilities.deletes ?? 'remove';
    /** False for a system without a change feed: every listing is whole, and its order and versions promise nothing. */
    const feed = () => connector().capabilities.changeFeed !== false;
    /** After a delete: gone, marked deleted, or (close, archive) kept in that state. */
    const expectDeleted = (record: SourceRecord | undefined) => {
      if (meaning() === 'remove') expect(record === undefined || record.deleted).toBe(true);
      else expect(record && (fixture().isClosed?.(record) ?? false), 'the record is kept, closed').toBe(true);
    };

    beforeEach(async () => {
      current = await setup();
    });
    afterEach(async () => {
      await current?.teardown();
      current = undefined;
    });

    const compareIds = (a: string, b: string): number => (fixture().compareIds ?? defaultCompareIds)(a, b);

    async function create(fields: FlowRecord, tag = 'syncline:contract:create'): Promise<{ id: string; version: Version | null }> {
      const [result] = await connector().write([{ kind: 'create', fields, tag }]);
      expectOk(result);
      return { id: result.id, version: result.version };
    }

    async function readOne(id: string): Promise<SourceRecord | undefined> {
      return (await connector().getMany([id])).get(id);
    }

    async function seed(count: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await fixture().external.insert(person(i)));
      return ids;
    }

    describe('describe()', () => {
      it('lists the collection with its data fields and none of its bookkeeping columns', async () => {
        const collections = await connector().describe();
        const own = collections.find((collection) => collection.name === fixture().collection);
        expect(own, `describe() should list ${fixture().collection}`).toBeDefined();
        const names = own?.fields.map((field) => field.name) ?? [];
        expect(names).toEqual(expect.arrayContaining(dataFields.filter((field) => field !== 'score' || numeric())));
        for (const bookkeeping of fixture().bookkeeping) expect(names).not.toContain(bookkeeping);
        for (const field of own?.fields ?? []) expect(typeof field.type).toBe('string');
      });
    });

    describe('listSince', () => {
      it('returns no records and no next position for an empty collection', async () => {
        expect(await connector().listSince(start, 10)).toEqual({ records: [], next: null });
      });

      it('lists every record from the start, ordered by version then id (in any order, without a change feed)', async () => {
        const ids = await seed(4);
        ids.push(...(await fixture().external.insertAtOneVersion([person(10), person(11), person(12)])));
        ids.push(await fixture().external.insert(person(13)));
        const { records } = await listAll(connector(), start, 100);
        expect(records.map((record) => record.id).sort()).toEqual([...ids].sort());
        if (feed()) expectListingOrder(records, compareIds);
        for (const record of records) {
          expect(record.deleted).toBe(false);
          if (connector().capabilities.incremental) expect(record.version).not.toBeNull();
        }
        const byId = new Map(records.map((record) => [record.id, record]));
        expect(byId.get(ids[0] as string)?.fields).toMatchObject(person(0));
      });

      it('pages by limit and never loses or repeats a record, even when many share one version', async () => {
        const ids = [
          ...(await seed(3)),
          ...(await fixture().external.insertAtOneVersion(Array.from({ length: 23 }, (_, i) => person(100 + i)))),
          ...(await seed(3)),
        ];
        for (const limit of [1, 4, 7, 29, 50]) {
          const { records, pages } = await listAll(connector(), start, limit);
          const listed = records.map((record) => record.id);
          expect(new Set(listed).size, `limit ${limit}: a record was listed twice`).toBe(listed.length);
          expect([...listed].sort(), `limit ${limit}: records were lost`).toEqual([...ids].sort());
          if (feed()) expectListingOrder(records, compareIds);
          pages.forEach((page, index) => {
            const last = index === pages.length - 1;
            expect(page.records.length, `limit ${limit}, page ${index}`).toBeLessThanOrEqual(limit);
            if (!last) expect(page.records.length, `limit ${limit}: only the last page may be empty`).toBeGreaterThan(0);
            // A short page is the end of the listing.
            if (page.records.length < limit) expect(page.next).toBeNull();
          });
        }
      });

      it('from a version lists every record at or after it (everything, when not incremental)', async () => {
        if (!feed()) {
          // The engine lists such a system from the start only, never from a version: there is nothing to filter by.
          expect(connector().capabilities.incremental, 'a system without a change feed cannot list incrementally').toBe(false);
          return;
        }
        await seed(3);
        await fixture().external.insertAtOneVersion([person(20), person(21)]);
        await seed(3);
        const everything = (await listAll(connector(), start, 100)).records;
        const pivot = everything[3] as SourceRecord;
        const { records } = await listAll(connector(), { since: pivot.version, afterId: null }, 2);
        const expected = connector().capabilities.incremental
          ? everything.filter((record) => compareVersions(record.version, pivot.version) >= 0)
          : everything;
        const listed = records.map((record) => record.id);
        expect(listed).toEqual(expect.arrayContaining(expected.map((record) => record.id)));
        // Earlier records only within the lookback a connector declares (systems whose feeds lag or tie unordered).
        const lookback = connector().capabilities.lookbackMs ?? 0;
        for (const record of records) {
          if (expected.some((wanted) => wanted.id === record.id)) continue;
          expect(lookback, `record ${record.id} is before the position and the connector declares no lookback`).toBeGreaterThan(0);
          expect(Date.parse(String(pivot.version)) - Date.parse(String(record.version))).toBeLessThanOrEqual(lookback);
        }
        expectListingOrder(records, compareIds);
      });

      it('resumes from a next position and sees what changed in between, without repeating earlier records', async () => {
        const ids = await seed(6);
        const first = await connector().listSince(start, 3);
        expect(first.records).toHaveLength(3);
        expect(first.next).not.toBeNull();
        const changedEarlier = first.records[0]?.id as string;
        await fixture().external.update(changedEarlier, { name: 'Changed Between Pages' });
        const added = await fixture().external.insert(person(50));
        const rest = await listAll(connector(), first.next as ListPosition, 3);
        const restIds = rest.records.map((record) => record.id);
        expect(new Set(restIds).size).toBe(restIds.length);
        for (const id of ids.slice(3)) expect(restIds).toContain(id);
        if (connector().capabilities.incremental) {
          expect(restIds).toContain(added);
          expect(rest.records.find((record) => record.id === changedEarlier)?.fields.name).toBe('Changed Between Pages');
        } else {
          // A full listing resumes by id: the earlier page's records are not listed again.
          for (const record of first.records) if (record.id !== changedEarlier) expect(restIds).not.toContain(record.id);
        }
      });
    });

    describe('getMany', () => {
      it('returns the current records for the ids that exist, and nothing for the others', async () => {
        const [a, b, c] = await seed(3);
        const found = await connector().getMany([a as string, 'no-such-id', c as string, '987654321']);
        expect([...found.keys()].sort()).toEqual([a, c].sort());
        expect(found.get(a as string)?.fields).toMatchObject(person(0));
        expect(found.get(c as string)?.id).toBe(c);
        expect(found.has(b as string)).toBe(false);
        expect((await connector().getMany([])).size).toBe(0);
      });

      it('sees changes made out of band', async () => {
        const [id] = await seed(1);
        const before = (await readOne(id as string)) as SourceRecord;
        await fixture().external.update(id as string, { name: 'Renamed Elsewhere' });
        const after = (await readOne(id as string)) as SourceRecord;
        expect(after.fields).toMatchObject({ ...person(0), name: 'Renamed Elsewhere' });
        if (connector().capabilities.incremental) expect(compareVersions(after.version, before.version)).toBeGreaterThan(0);
      });
    });

    describe('write: create', () => {
      it('returns the new id and version, and the record reads back with its fields and tag', async () => {
        const fields: FlowRecord = { email: 'new@example.com', name: 'New Person', ...(numeric() ? { score: 42.5 } : {}) };
        const { id, version } = await create(fields, 'syncline:contract:w1');
        expect(typeof id).toBe('string');
        expect(id).not.toBe('');
        if (connector().capabilities.incremental) expect(version).not.toBeNull();
        const record = (await readOne(id)) as SourceRecord;
        expect(record).toBeDefined();
        expect(record.fields).toMatchObject(fields);
        expect(record.version).toEqual(version);
        expect(record.deleted).toBe(false);
        expect(record.tag).toBe(connector().capabilities.tags ? 'syncline:contract:w1' : null);
      });

      it('stores null, whole and fractional numbers, and text with quotes as they were given', async () => {
        const fields: FlowRecord = { email: `o'brien "the" <o@example.com>`, name: null, ...(numeric() ? { score: 0 } : {}) };
        const { id } = await create(fields);
        expect((await readOne(id))?.fields).toMatchObject(fields);
        const { id: other } = await create({ email: 'x@example.com', name: 'Ünïcødé ✓', ...(numeric() ? { score: -3.25 } : {}) });
        expect((await readOne(other))?.fields).toMatchObject({ name: 'Ünïcødé ✓', ...(numeric() ? { score: -3.25 } : {}) });
      });

      it('gives each created record its own id', async () => {
        const results = await connector().write(
          Array.from({ length: 5 }, (_, i): WriteOp => ({ kind: 'create', fields: person(i), tag: `syncline:contract:c${i}` })),
        );
        const ids = results.map((result) => {
          expectOk(result);
          return result.id;
        });
        expect(new Set(ids).size).toBe(5);
        expect((await connector().getMany(ids)).size).toBe(5);
      });

      it('returns each created record exactly as a read by id then gives it, with createdRecords; no record without', async () => {
        const ops: WriteOp[] = [
          ...Array.from({ length: 3 }, (_, i): WriteOp => ({ kind: 'create', fields: person(90 + i), tag: `syncline:contract:r${i}` })),
          // Fields left out are the system's to fill in (a default, a null): the record returned must show them. (Only
          // asked of connectors that return records: a SaaS API may require fields.)
          ...(connector().capabilities.createdRecords ? [{ kind: 'create', fields: { email: 'partial@example.com' }, tag: 'syncline:contract:r3' } satisfies WriteOp] : []),
        ];
        const results = await connector().write(ops);
        for (const result of results) {
          expectOk(result);
          if (!connector().capabilities.createdRecords) {
            expect(result.record, 'a record without the createdRecords capability').toBeUndefined();
            continue;
          }
          expect(result.record, `create ${result.id} returns its record`).toBeDefined();
          expect(result.record).toEqual(await readOne(result.id));
          expect(result.record?.version ?? null).toEqual(result.version);
        }
      });
    });

    describe('write: create under a given key (givenKeys)', () => {
      // Connectors without the capability are never given a key: a trigger with keys "shared" refuses them.
      const givenKeys = (): boolean => {
        if (connector().capabilities.givenKeys) return true;
        expect(connector().capabilities.givenKeys ?? false).toBe(false);
        return false;
      };
      const key = (n: number): string => (fixture().newKey ?? defaultNewKey)(n);
      const createUnder = (id: string, fields: FlowRecord, tag: string): WriteOp => ({ kind: 'create', fields, tag, id });

      it('creates the record under the key it is given; it reads back and is listed under that key', async () => {
        if (!givenKeys()) return;
        await seed(2);
        const fields = person(80);
        const [result] = await connector().write([createUnder(key(1), fields, 'syncline:contract:g1')]);
        expectOk(result);
        expect(result.id).toBe(key(1));
        const record = (await readOne(key(1))) as SourceRecord;
        expect(record.fields).toMatchObject(fields);
        expect(record.version).toEqual(result.version);
        expect(record.tag).toBe(connector().capabilities.tags ? 'syncline:contract:g1' : null);
        expect((await listAll(connector(), start, 100)).records.map((listed) => listed.id)).toContain(key(1));
      });

      it('never overwrites: a key another record holds comes back taken, and that record stays as it was', async () => {
        if (!givenKeys()) return;
        const [held] = await seed(2);
        const before = await readOne(held as string);
        expect(await connector().write([createUnder(held as string, person(81), 'syncline:contract:g2')])).toEqual([{ ok: false, reason: 'taken' }]);
        expect(await readOne(held as string)).toEqual(before);
        expect((await listAll(connector(), start, 100)).records).toHaveLength(2);
      });

      it('writes a batch of given keys with a taken one among them: one result per op, in order', async () => {
        if (!givenKeys()) return;
        const [held] = await seed(1);
        const before = await readOne(held as string);
        const results = await connector().write([
          createUnder(key(2), person(82), 'syncline:contract:g3'),
          createUnder(held as string, person(83), 'syncline:contract:g4'),
          createUnder(key(3), person(84), 'syncline:contract:g5'),
          createUnder(key(4), person(85), 'syncline:contract:g6'),
        ]);
        expect(results.map((result) => (result.ok ? result.id : result.reason))).toEqual([key(2), 'taken', key(3), key(4)]);
        const read = await connector().getMany([key(2), key(3), key(4)]);
        expect(read.get(key(2))?.fields).toMatchObject(person(82));
        expect(read.get(key(3))?.fields).toMatchObject(person(84));
        expect(read.get(key(4))?.fields).toMatchObject(person(85));
        expect(await readOne(held as string)).toEqual(before);
      });

      it('a key freed by a delete can be taken again; one kept by a record marked deleted cannot', async () => {
        if (!givenKeys()) return;
        const [gone] = await seed(2);
        const [deleted] = await connector().write([{ kind: 'delete', id: gone as string, expectedVersion: null }]);
        expectOk(deleted);
        const [again] = await connector().write([createUnder(gone as string, person(86), 'syncline:contract:g7')]);
        if (fixture().softDeletes) {
          expect(again).toEqual({ ok: false, reason: 'taken' });
          expect((await readOne(gone as string))?.deleted).toBe(true);
        } else {
          expectOk(again);
          expect((await readOne(gone as string))?.fields).toMatchObject(person(86));
        }
      });
    });

    describe('write: update', () => {
      it('changes only the given fields and stores the new tag', async () => {
        const [id] = await seed(1);
        const [result] = await connector().write([{ kind: 'update', id: id as string, fields: { name: 'Only Name' }, tag: 'syncline:contract:u1', expectedVersion: null }]);
        expectOk(result);
        expect(result.id).toBe(id);
        const record = (await readOne(id as string)) as SourceRecord;
        expect(record.fields).toMatchObject({ ...person(0), name: 'Only Name' });
        expect(record.version).toEqual(result.version);
        expect(record.tag).toBe(connector().capabilities.tags ? 'syncline:contract:u1' : null);
      });

      it('if unchanged: succeeds with the version read and moves the version on', async () => {
        const [id] = await seed(1);
        const read = (await readOne(id as string)) as SourceRecord;
        const [result] = await connector().write([{ kind: 'update', id: id as string, fields: { name: 'Seven' }, tag: 'syncline:contract:u2', expectedVersion: read.version }]);
        expectOk(result);
        if (connector().capabilities.incremental) expect(compareVersions(result.version, read.version)).toBeGreaterThan(0);
        expect((await readOne(id as string))?.fields.name).toBe('Seven');
      });

      it('if unchanged: reports changed when the record changed since it was read (goes through without conditional writes)', async () => {
        const [id] = await seed(1);
        const read = (await readOne(id as string)) as SourceRecord;
        await fixture().external.update(id as string, { name: 'Edited Meanwhile' });
        const [result] = await connector().write([{ kind: 'update', id: id as string, fields: { email: 'ninety-nine@example.com' }, tag: 'syncline:contract:u3', expectedVersion: read.version }]);
        const after = (await readOne(id as string)) as SourceRecord;
        if (connector().capabilities.conditionalWrites) {
          expect(result).toEqual({ ok: false, reason: 'changed' });
          expect(after.fields).toMatchObject({ name: 'Edited Meanwhile', email: person(0).email });
        } else {
          expectOk(result);
          expect(after.fields).toMatchObject({ name: 'Edited Meanwhile', email: 'ninety-nine@example.com' });
        }
      });

      it('reports missing for an id that does not exist, with or without an expected version', async () => {
        const [id] = await seed(1);
        const { version } = (await readOne(id as string)) as SourceRecord;
        for (const missingId of ['no-such-id', '987654321']) {
          for (const expectedVersion of [null, version]) {
            const [result] = await connector().write([{ kind: 'update', id: missingId, fields: { name: 'x' }, tag: 'syncline:contract:u4', expectedVersion }]);
            expect(result).toEqual({ ok: false, reason: 'missing' });
          }
        }
      });

      it('refuses bookkeeping columns as fields, failing only that op', async () => {
        const [id] = await seed(1);
        const [bookkeeping] = fixture().bookkeeping;
        const results = await connector().write([
          { kind: 'update', id: id as string, fields: { [bookkeeping as string]: 'hijack' }, tag: 'syncline:contract:u5', expectedVersion: null },
          { kind: 'update', id: id as string, fields: { name: 'Still Written' }, tag: 'syncline:contract:u6', expectedVersion: null },
        ]);
        expect(results[0]).toMatchObject({ ok: false, reason: 'failed' });
        expect((results[0] as { message: string }).message).toContain(bookkeeping as string);
        expectOk(results[1]);
        expect((await readOne(id as string))?.fields.name).toBe('Still Written');
      });
    });

    describe('write: delete', () => {
      it(`removes the record, or marks it deleted when the connector soft-deletes, or closes it where a delete closes`, async () => {
        const [keep, gone] = await seed(2);
        if (meaning() === 'cannot') {
          // The engine never plans a delete for such a system; one asked for anyway fails and is not worth retrying.
          const [refused] = await connector().write([{ kind: 'delete', id: gone as string, expectedVersion: null }]);
          expect(refused).toMatchObject({ ok: false, reason: 'failed', retryable: false });
          expect((await readOne(gone as string))?.deleted).toBe(false);
          return;
        }
        const before = (await listAll(connector(), start, 100)).records;
        const [result] = await connector().write([{ kind: 'delete', id: gone as string, expectedVersion: null }]);
        expectOk(result);
        expect(result.id).toBe(gone);
        const read = await connector().getMany([keep as string, gone as string]);
        expect(read.get(keep as string)?.deleted).toBe(false);
        const listed = (await listAll(connector(), start, 100)).records;
        if (meaning() !== 'remove') {
          expectDeleted(read.get(gone as string));
          expectDeleted(listed.find((record) => record.id === gone));
          return;
        }
        if (fixture().softDeletes) {
          expect(read.get(gone as string)?.deleted).toBe(true);
          expect(listed.find((record) => record.id === gone)?.deleted).toBe(true);
          if (connector().capabilities.incremental) {
            // A poll from the newest version seen before the delete must see it.
            const newest = before.reduce<Version | null>((max, record) => (compareVersions(record.version, max) > 0 ? record.version : max), null);
            const polled = (await listAll(connector(), { since: newest, afterId: null }, 100)).records;
            expect(polled.find((record) => record.id === gone)?.deleted).toBe(true);
          }
        } else {
          expect(read.has(gone as string)).toBe(false);
          expect(listed.map((record) => record.id)).not.toContain(gone);
        }
        if (connector().capabilities.fullScan) expect((await scanAll(connector(), 10)).flat()).not.toContain(gone);
      });

      it('reports missing when deleting what is already gone', async () => {
        const [id] = await seed(1);
        if (meaning() !== 'remove') {
          // Closing what is closed changes nothing and succeeds; an id that never existed is missing.
          if (meaning() !== 'cannot') for (let i = 0; i < 2; i++) expectOk((await connector().write([{ kind: 'delete', id: id as string, expectedVersion: null }]))[0]);
          if (meaning() !== 'cannot') expect(await connector().write([{ kind: 'delete', id: '987654321', expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
          return;
        }
        expectOk((await connector().write([{ kind: 'delete', id: id as string, expectedVersion: null }]))[0]);
        expect(await connector().write([{ kind: 'delete', id: id as string, expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
        expect(await connector().write([{ kind: 'delete', id: 'no-such-id', expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
      });

      it('if unchanged: reports changed when the record changed since it was read (goes through without conditional writes)', async () => {
        const [id] = await seed(1);
        const read = (await readOne(id as string)) as SourceRecord;
        await fixture().external.update(id as string, { name: 'Edited Meanwhile' });
        if (meaning() === 'cannot') return;
        const [result] = await connector().write([{ kind: 'delete', id: id as string, expectedVersion: read.version }]);
        const after = await readOne(id as string);
        if (connector().capabilities.conditionalWrites) {
          expect(result).toEqual({ ok: false, reason: 'changed' });
          expect(after?.deleted).toBe(false);
        } else {
          expectOk(result);
          expectDeleted(after);
        }
      });
    });

    describe('write: batches', () => {
      it('returns one result per op, in order, and a failing op does not stop the others', async () => {
        const [updated, deleted, stale] = await seed(3);
        const staleVersion = ((await readOne(stale as string)) as SourceRecord).version;
        await fixture().external.update(stale as string, { name: 'Edited Meanwhile' });
        const ops: WriteOp[] = [
          { kind: 'create', fields: { email: 'first@example.com', name: 'First', ...(numeric() ? { score: 1 } : {}) }, tag: 'syncline:contract:b1' },
          { kind: 'update', id: updated as string, fields: { name: 'Batch Updated' }, tag: 'syncline:contract:b2', expectedVersion: null },
          { kind: 'update', id: 'no-such-id', fields: { name: 'x' }, tag: 'syncline:contract:b3', expectedVersion: null },
          // A system that cannot delete gets an update in its place: the batch is about order and independence.
          meaning() === 'cannot'
            ? { kind: 'update', id: deleted as string, fields: { name: 'Not Deletable' }, tag: 'syncline:contract:b6', expectedVersion: null }
            : { kind: 'delete', id: deleted as string, expectedVersion: null },
          { kind: 'update', id: stale as string, fields: { email: 'stale@example.com' }, tag: 'syncline:contract:b4', expectedVersion: staleVersion },
          { kind: 'create', fields: { email: 'last@example.com', name: 'Last', ...(numeric() ? { score: 2 } : {}) }, tag: 'syncline:contract:b5' },
        ];
        const results = await connector().write(ops);
        expect(results).toHaveLength(ops.length);
        expectOk(results[0]);
        expect(results[1]).toMatchObject({ ok: true, id: updated });
        expect(results[2]).toEqual({ ok: false, reason: 'missing' });
        expect(results[3]).toMatchObject({ ok: true, id: deleted });
        if (connector().capabilities.conditionalWrites) expect(results[4]).toEqual({ ok: false, reason: 'changed' });
        else expect(results[4]).toMatchObject({ ok: true, id: stale });
        expectOk(results[5]);

        const read = await connector().getMany([results[0].id, updated as string, deleted as string, results[5].id]);
        expect(read.get(results[0].id)?.fields).toMatchObject({ name: 'First' });
        expect(read.get(updated as string)?.fields.name).toBe('Batch Updated');
        if (meaning() !== 'cannot') expectDeleted(read.get(deleted as string));
        expect(read.get(results[5].id)?.fields).toMatchObject({ name: 'Last' });
      });

      it('returns no results for no ops', async () => {
        expect(await connector().write([])).toEqual([]);
      });
    });

    describe('versions', () => {
      it('a write gets a version at or after every earlier one, so the next poll from there sees it', async () => {
        const [id] = await seed(3);
        if (!feed()) {
          // No poll goes from a version: the next whole listing is what sees a write (see "snapshot listing").
          expect(connector().capabilities.incremental).toBe(false);
          return;
        }
        const newest = (await listAll(connector(), start, 100)).records.reduce<Version | null>(
          (max, record) => (compareVersions(record.version, max) > 0 ? record.version : max),
          null,
        );
        const created = await create(person(30));
        const [updated] = await connector().write([{ kind: 'update', id: id as string, fields: { name: 'Five' }, tag: 'syncline:contract:v1', expectedVersion: null }]);
        expectOk(updated);
        const polled = (await listAll(connector(), { since: newest, afterId: null }, 100)).records.map((record) => record.id);
        expect(polled).toContain(created.id);
        expect(polled).toContain(id);
        if (connector().capabilities.incremental) {
          expect(compareVersions(created.version, newest)).toBeGreaterThanOrEqual(0);
          expect(compareVersions(updated.version, newest)).toBeGreaterThanOrEqual(0);
        }
      });

      it('successive writes to one record get increasing versions', async () => {
        const [id] = await seed(1);
        const versions: Array<Version | null> = [];
        for (let i = 0; i < 3; i++) {
          const [result] = await connector().write([{ kind: 'update', id: id as string, fields: { name: `Successive ${i}` }, tag: `syncline:contract:s${i}`, expectedVersion: null }]);
          expectOk(result);
          versions.push(result.version);
        }
        if (connector().capabilities.incremental) {
          expect(compareVersions(versions[1] ?? null, versions[0] ?? null)).toBeGreaterThan(0);
          expect(compareVersions(versions[2] ?? null, versions[1] ?? null)).toBeGreaterThan(0);
        } else if (feed()) {
          expect(versions).toEqual([null, null, null]);
        } else {
          // A system without a change feed may keep an updated time it cannot filter by (often to the second, so two
          // writes in a second share it): whatever it reports is what a read of the record reports.
          expect((await readOne(id as string))?.version).toEqual(versions[2]);
        }
      });
    });

    describe('scanIds', () => {
      it('pages through every id exactly once, and no longer lists one deleted out of band', async () => {
        const ids = await seed(11);
        if (!connector().capabilities.fullScan) {
          // Without a full scan the engine never asks; the capability is what tells it.
          expect(connector().capabilities.fullScan).toBe(false);
          return;
        }
        const pages = await scanAll(connector(), 3);
        for (const page of pages) expect(page.length).toBeLessThanOrEqual(3);
        const scanned = pages.flat();
        expect(new Set(scanned).size).toBe(scanned.length);
        expect([...scanned].sort()).toEqual([...ids].sort());

        await fixture().external.delete(ids[4] as string);
        const after = (await scanAll(connector(), 100)).flat();
        expect(after).not.toContain(ids[4]);
        expect(after).toHaveLength(10);
      });
    });

    describe('out-of-band soft deletes', () => {
      it('are listed as deleted by the next poll', async () => {
        const [keep, gone] = await seed(2);
        const softDelete = fixture().external.softDelete;
        if (!softDelete) {
          expect(fixture().softDeletes).toBe(false);
          return;
        }
        const before = (await listAll(connector(), start, 100)).records;
        const newest = before.reduce<Version | null>((max, record) => (compareVersions(record.version, max) > 0 ? record.version : max), null);
        await softDelete(gone as string);
        const polled = (await listAll(connector(), feed() ? { since: newest, afterId: null } : start, 100)).records;
        expect(polled.find((record) => record.id === gone)?.deleted).toBe(true);
        expect((await readOne(keep as string))?.deleted).toBe(false);
        expect((await readOne(gone as string))?.deleted).toBe(true);
      });
    });

    describe('snapshot listing (no change feed)', () => {
      /** Every record of the collection, listed from the start, by id; a listing that repeats a record fails. */
      async function wholeListing(limit: number): Promise<Map<string, SourceRecord>> {
        const { records } = await listAll(connector(), start, limit);
        const byId = new Map(records.map((record) => [record.id, record]));
        expect(byId.size, 'a whole listing lists each record once').toBe(records.length);
        return byId;
      }

      it('lists the same ids every time, and reads by id give the records the listing gives', async () => {
        if (feed()) {
          // Systems with a change feed are compared only when their versions move: this is held of the others.
          expect(connector().capabilities.changeFeed ?? true).toBe(true);
          return;
        }
        const ids = [...(await seed(9)), ...(await fixture().external.insertAtOneVersion([person(60), person(61), person(62)]))];
        const first = await wholeListing(4);
        const second = await wholeListing(5);
        expect([...first.keys()].sort()).toEqual([...ids].sort());
        expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
        // The engine compares a listed record with the shadow it took from records it read or wrote: anything that
        // differs between the two ways of reading would be taken for a change on every pass.
        const read = await connector().getMany(ids);
        for (const id of ids) {
          const listed = first.get(id) as SourceRecord;
          expect(read.get(id)?.fields, `record ${id} read by id`).toEqual(listed.fields);
          expect(read.get(id)?.version, `record ${id} read by id`).toEqual(listed.version);
          expect(second.get(id)?.fields, `record ${id} listed again`).toEqual(listed.fields);
        }
      });

      it('shows an edit and a create in the next whole listing, under the ids they had and were given', async () => {
        if (feed()) {
          expect(connector().capabilities.changeFeed ?? true).toBe(true);
          return;
        }
        const [edited, kept] = await seed(5);
        await fixture().external.update(edited as string, { name: 'Edited Elsewhere' });
        const created = await create(person(70), 'syncline:contract:snap1');
        const listed = await wholeListing(2);
        expect(listed.size).toBe(6);
        expect(listed.get(edited as string)?.fields).toMatchObject({ ...person(0), name: 'Edited Elsewhere' });
        expect(listed.get(kept as string)?.fields).toMatchObject(person(1));
        expect(listed.get(created.id)?.fields).toMatchObject(person(70));
        expect((await readOne(created.id))?.fields).toEqual(listed.get(created.id)?.fields);
      });

      it('no longer lists a record deleted elsewhere, and reading it by id does not find it', async () => {
        if (feed()) {
          expect(connector().capabilities.changeFeed ?? true).toBe(true);
          return;
        }
        const ids = await seed(7);
        const gone = ids[3] as string;
        await fixture().external.delete(gone);
        // What the engine concludes from: linked, absent from a whole listing, and not found when read by id.
        const listed = await wholeListing(3);
        expect(listed.get(gone)?.deleted ?? true).toBe(true);
        expect([...listed.values()].filter((record) => !record.deleted).map((record) => record.id).sort()).toEqual(ids.filter((id) => id !== gone).sort());
        expect((await connector().getMany([gone])).get(gone)?.deleted ?? true).toBe(true);
      });
    });

    describe('bookkeeping', () => {
      it('key, updatedAt, tag and deleted-flag columns never appear in fields', async () => {
        const [id, other] = await seed(2);
        await create(person(40), 'syncline:contract:k1');
        await connector().write([
          { kind: 'update', id: id as string, fields: { name: 'Tagged' }, tag: 'syncline:contract:k2', expectedVersion: null },
          ...(meaning() === 'cannot' ? [] : [{ kind: 'delete' as const, id: other as string, expectedVersion: null }]),
        ]);
        const listed = (await listAll(connector(), start, 100)).records;
        const read = [...(await connector().getMany(listed.map((record) => record.id))).values()];
        expect(listed.length).toBeGreaterThan(0);
        for (const record of [...listed, ...read]) {
          for (const name of fixture().bookkeeping) expect(Object.keys(record.fields)).not.toContain(name);
          for (const name of dataFields) if (name !== 'score' || numeric()) expect(record.fields).toHaveProperty(name);
        }
      });
    });

    describe('close()', () => {
      it('can be called twice', async () => {
        await connector().close();
        await expect(connector().close()).resolves.toBeUndefined();
      });
    });
  });
}

/** A person record for seeding: distinct, with every data field. */
export function personRecord(index: number): FlowRecord {
  return { email: `person${index}@example.com`, name: `Person ${index}`, score: index * 10 + 0.5 };
}

/**
 * The connector in the contract's vocabulary: `fieldNames` renamed on the way in and out; a system's other fields are
 * left out of what the tests see. Without `fieldNames`, the connector itself.
 */
function renaming(connector: Connector, names: ContractFixture['fieldNames']): Connector {
  if (!names) return connector;
  const toSystem = new Map<string, string>([['email', names.email], ['name', names.name], ...(names.score === null ? [] : [['score', names.score] as [string, string]])]);
  const toContract = new Map([...toSystem].map(([contract, system]) => [system, contract]));
  const rename = (fields: FlowRecord, map: Map<string, string>, keepUnknown: boolean): FlowRecord => {
    const out: FlowRecord = {};
    for (const [field, value] of Object.entries(fields)) {
      const mapped = map.get(field);
      if (mapped !== undefined) out[mapped] = value;
      else if (keepUnknown) out[field] = value;
    }
    return out;
  };
  const read = (record: SourceRecord): SourceRecord => ({ ...record, fields: rename(record.fields, toContract, false) });
  return {
    capabilities: connector.capabilities,
    listSince: async (position, limit) => {
      const page = await connector.listSince(position, limit);
      return { ...page, records: page.records.map(read) };
    },
    getMany: async (ids) => new Map([...(await connector.getMany(ids))].map(([id, record]) => [id, read(record)])),
    // Unknown fields pass through, so the bookkeeping test can still offer the system's own columns.
    write: async (ops) =>
      (await connector.write(ops.map((op) => (op.kind === 'delete' ? op : { ...op, fields: rename(op.fields, toSystem, true) })))).map((result) =>
        result.ok && result.record ? { ...result, record: read(result.record) } : result,
      ),
    scanIds: (limit) => connector.scanIds(limit),
    describe: async () =>
      (await connector.describe()).map((collection) => ({ ...collection, fields: collection.fields.map((field) => ({ ...field, name: toContract.get(field.name) ?? field.name })) })),
    close: () => connector.close(),
    ...(connector.count ? { count: () => (connector.count as () => Promise<number>)() } : {}),
  };
}

async function listAll(connector: Connector, from: ListPosition, limit: number): Promise<{ records: SourceRecord[]; pages: ListPage[] }> {
  const pages: ListPage[] = [];
  let position: ListPosition | null = from;
  while (position) {
    if (pages.length > 10_000) throw new Error('listSince never returned a null next position');
    const page = await connector.listSince(position, limit);
    pages.push(page);
    position = page.next;
  }
  return { records: pages.flatMap((page) => page.records), pages };
}

async function scanAll(connector: Connector, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  for await (const page of connector.scanIds(limit)) pages.push(page);
  return pages;
}

function expectListingOrder(records: readonly SourceRecord[], compareIds: (a: string, b: string) => number): void {
  for (let i = 1; i < records.length; i++) {
    const previous = records[i - 1] as SourceRecord;
    const record = records[i] as SourceRecord;
    const byVersion = compareVersions(previous.version, record.version);
    expect(byVersion, `record ${record.id} is listed after ${previous.id} but has an earlier version`).toBeLessThanOrEqual(0);
    if (byVersion === 0) expect(compareIds(previous.id, record.id), `ids of equal version out of order: ${previous.id}, ${record.id}`).toBeLessThan(0);
  }
}

function expectOk(result: WriteResult | undefined): asserts result is Extract<WriteResult, { ok: true }> {
  expect(result, 'missing write result').toBeDefined();
  if (!result?.ok) throw new Error(`expected the write to succeed, got ${JSON.stringify(result)}`);
}

/** A key of a number, text or integer key column that the suite's records never get on their own. */
function defaultNewKey(n: number): string {
  return String(900_000 + n);
}

function defaultCompareIds(a: string, b: string): number {
  const integer = /^-?\d+$/;
  if (integer.test(a) && integer.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
