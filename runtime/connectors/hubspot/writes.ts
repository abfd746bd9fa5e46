/**
 * Writes to HubSpot in batches of up to 100 inputs ("batch" endpoints of the CRM objects API): creates through
 * `batch/create`, updates through `batch/update`, deletes as archives through `batch/archive`. Each op gets its own
 * result, in order:
 *
 * - Ops run in the order given; a run of consecutive ops of one kind is one batch (never two ops on one id in a batch:
 *   HubSpot refuses duplicate ids).
 * - Every input carries an `objectWriteTraceId`, which turns on multi-status answers (Error handling, "Multi-status
 *   errors"): a 207 names each refused input by its trace id (or, for an id it cannot find, by `context.ids`), and the
 *   other inputs are applied. Results come in no promised order: they are matched by trace id and by record id.
 * - A batch HubSpot refuses whole (a 4xx without per-input errors) is sent again one input at a time, so one bad value
 *   fails its own op only.
 * - A delete is an archive, which HubSpot answers 204 whatever the ids: the ids are read first (live, then archived),
 *   so an op on an id that never existed is `missing` and one on an archived record succeeds as it is.
 * - A rate limit longer than the pass waits fails the op it met and every later one, retryable, with when to come back;
 *   refused credentials fail the rest likewise, not retryable.
 */
import { ConnectorError, RateLimitedError, type WriteOp, type WriteResult } from '../types';
import { HubSpotCredentialsError, type HubSpotClient, type HubSpotResponse } from './client';
import { latest, type ObjectJson } from './changes';
import type { HubSpotCollection } from './config';
import { versionProperty, type PropertyCatalog } from './properties';

export const batchSize = 100;

type Indexed<T extends WriteOp['kind']> = { index: number; op: Extract<WriteOp, { kind: T }> };

/** A record id as HubSpot has them: a positive whole number. Anything else names no record. */
export function hubspotId(id: string): string | null {
  return /^[1-9]\d{0,19}$/.test(id) ? id : null;
}

export function refused(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

export class HubSpotWriter {
  private readonly base: string;

  constructor(
    private readonly client: HubSpotClient,
    private readonly collection: HubSpotCollection,
  ) {
    this.base = `/crm/v3/objects/${collection}`;
  }

  async write(ops: readonly WriteOp[], catalog: PropertyCatalog): Promise<WriteResult[]> {
    const results: Array<WriteResult | undefined> = new Array(ops.length);
    let rest: WriteResult | null = null;
    for (const run of runs(ops)) {
      if (rest) {
        for (const { index } of run) results[index] = rest;
        continue;
      }
      try {
        const kind = run[0]?.op.kind;
        if (kind === 'create') await this.create(run as Array<Indexed<'create'>>, catalog, results);
        else if (kind === 'update') await this.update(run as Array<Indexed<'update'>>, catalog, results);
        else await this.archive(run as Array<Indexed<'delete'>>, results);
      } catch (caught) {
        let failure: WriteResult;
        if (caught instanceof RateLimitedError) {
          failure = { ok: false, reason: 'failed', message: caught.message, retryable: true, retryAfterMs: Math.max(0, caught.resumeAt.getTime() - this.client.now()) };
          rest = failure;
        } else if (caught instanceof HubSpotCredentialsError) {
          failure = refused(caught.message);
          rest = failure;
        } else if (caught instanceof ConnectorError) {
          failure = { ok: false, reason: 'failed', message: caught.message, retryable: caught.retryable };
        } else {
          throw caught;
        }
        // Ops of the run that already have a result keep it: they happened.
        for (const { index } of run) results[index] ??= failure;
      }
    }
    return results.map((result) => result ?? refused('internal: no result for this op'));
  }

  private async create(run: Array<Indexed<'create'>>, catalog: PropertyCatalog, results: Array<WriteResult | undefined>): Promise<void> {
    const inputs: Array<{ index: number; input: { properties: Record<string, string>; objectWriteTraceId: string } }> = [];
    for (const { index, op } of run) {
      const built = catalog.input(op.fields);
      if ('error' in built) results[index] = refused(built.error);
      else inputs.push({ index, input: { properties: built.properties, objectWriteTraceId: traceId(index) } });
    }
    if (inputs.length === 0) return;
    const response = await this.client.request('POST', `${this.base}/batch/create`, { body: { inputs: inputs.map((entry) => entry.input) }, repeatable: false });
    if (response.status === 201 || response.status === 200 || response.status === 207) {
      const byTrace = new Map(inputs.map((entry) => [entry.input.objectWriteTraceId, entry.index]));
      const created = resultList(response);
      created.forEach((object, position) => {
        // Matched by trace id; an answer without any, for a batch of one, is that one.
        const trace = object.objectWriteTraceId;
        const index = typeof trace === 'string' ? byTrace.get(trace) : inputs.length === 1 && created.length === 1 && position === 0 ? inputs[0]?.index : undefined;
        if (index !== undefined) results[index] = written(object);
      });
      for (const error of errorList(response)) {
        const message = errorMessage(response, error);
        for (const trace of contextList(error, 'objectWriteTraceId')) {
          const index = byTrace.get(trace);
          if (index !== undefined) results[index] ??= refused(message);
        }
      }
      for (const { index } of inputs) {
        // Not in the answer at all: it may have been made, so it is not repeated (a second contact would follow).
        results[index] ??= refused(`${response.shown}: ${response.status}, but HubSpot's answer names neither a new record nor an error for this input; check HubSpot before syncing it again`);
      }
      return;
    }
    if (isWholeBatchRefusal(response) && inputs.length > 1) {
      // One bad input refuses the batch: each goes again alone, so the good ones are made and the bad one is named.
      for (const entry of inputs) await this.create([run.find((item) => item.index === entry.index) as Indexed<'create'>], catalog, results);
      return;
    }
    const failure = this.client.failure(response, response.status === 409 ? 'HubSpot holds a record with a unique value this one has' : '');
    // A create that failed on HubSpot's side may have made the record: not repeated, so there is never a second one.
    for (const { index } of inputs) results[index] = refused(failure.message);
  }

  private async update(run: Array<Indexed<'update'>>, catalog: PropertyCatalog, results: Array<WriteResult | undefined>): Promise<void> {
    const inputs: Array<{ index: number; id: string; input: { id: string; properties: Record<string, string>; objectWriteTraceId: string } }> = [];
    const unchanged: Array<{ index: number; id: string }> = [];
    for (const { index, op } of run) {
      const id = hubspotId(op.id);
      if (id === null) {
        results[index] = { ok: false, reason: 'missing' };
        continue;
      }
      const built = catalog.input(op.fields);
      if ('error' in built) results[index] = refused(built.error);
      else if (Object.keys(built.properties).length === 0) unchanged.push({ index, id });
      else inputs.push({ index, id, input: { id, properties: built.properties, objectWriteTraceId: traceId(index) } });
    }
    if (unchanged.length > 0) {
      // Nothing to send: the op succeeds with the version HubSpot holds (or finds the record gone).
      const found = await this.readVersions(unchanged.map((entry) => entry.id), false);
      for (const { index, id } of unchanged) results[index] = found.has(id) ? { ok: true, id, version: found.get(id) ?? null } : { ok: false, reason: 'missing' };
    }
    if (inputs.length === 0) return;
    const response = await this.client.request('POST', `${this.base}/batch/update`, { body: { inputs: inputs.map((entry) => entry.input) }, repeatable: true });
    if (response.status === 200 || response.status === 207) {
      const byId = new Map(inputs.map((entry) => [entry.id, entry.index]));
      const byTrace = new Map(inputs.map((entry) => [entry.input.objectWriteTraceId, entry.index]));
      for (const object of resultList(response)) {
        const index = byId.get(String(object.id));
        if (index !== undefined) results[index] = written(object);
      }
      for (const error of errorList(response)) {
        const notFound = error.category === 'OBJECT_NOT_FOUND';
        const message = errorMessage(response, error);
        const indexes = [...contextList(error, 'objectWriteTraceId').map((trace) => byTrace.get(trace)), ...contextList(error, 'ids').map((id) => byId.get(id))];
        for (const index of indexes) if (index !== undefined) results[index] ??= notFound ? { ok: false, reason: 'missing' } : refused(message);
      }
      for (const { index } of inputs) {
        results[index] ??= { ok: false, reason: 'failed', message: `${response.shown}: ${response.status}, but HubSpot's answer names neither the record nor an error for it (merged into another record?)`, retryable: true };
      }
      return;
    }
    if (isWholeBatchRefusal(response) && inputs.length > 1) {
      for (const entry of inputs) await this.update([run.find((item) => item.index === entry.index) as Indexed<'update'>], catalog, results);
      return;
    }
    const failure = this.client.failure(response);
    for (const { index } of inputs) results[index] = { ok: false, reason: 'failed', message: failure.message, retryable: failure.retryable };
  }

  private async archive(run: Array<Indexed<'delete'>>, results: Array<WriteResult | undefined>): Promise<void> {
    const wanted: Array<{ index: number; id: string }> = [];
    for (const { index, op } of run) {
      const id = hubspotId(op.id);
      if (id === null) results[index] = { ok: false, reason: 'missing' };
      else wanted.push({ index, id });
    }
    if (wanted.length === 0) return;
    const live = await this.readVersions(wanted.map((entry) => entry.id), false);
    const gone = wanted.filter((entry) => !live.has(entry.id));
    const archived = gone.length === 0 ? new Map<string, string | null>() : await this.readVersions(gone.map((entry) => entry.id), true);
    for (const { index, id } of gone) {
      // Archived already: a delete of what is deleted changes nothing and succeeds.
      results[index] = archived.has(id) ? { ok: true, id, version: archived.get(id) ?? null } : { ok: false, reason: 'missing' };
    }
    const toArchive = wanted.filter((entry) => live.has(entry.id));
    if (toArchive.length === 0) return;
    const response = await this.client.request('POST', `${this.base}/batch/archive`, { body: { inputs: toArchive.map((entry) => ({ id: entry.id })) }, repeatable: true });
    if (response.status !== 204 && response.status !== 200) {
      const failure = this.client.failure(response);
      for (const { index } of toArchive) results[index] = { ok: false, reason: 'failed', message: failure.message, retryable: failure.retryable };
      return;
    }
    // 204 No Content: archived; HubSpot tells no new version.
    for (const { index, id } of toArchive) results[index] = { ok: true, id, version: null };
  }

  /** The versions of those ids that exist (live, or archived), by batch reads of 100. */
  async readVersions(ids: readonly string[], archived: boolean): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>();
    for (const object of await this.batchRead(ids, [versionProperty[this.collection]], archived)) {
      found.set(String(object.id), latest([object.updatedAt, object.properties?.[versionProperty[this.collection]], archived ? object.archivedAt : undefined]));
    }
    return found;
  }

  /**
   * `batch/read` in chunks of 100: the objects found. A 207 whose errors are OBJECT_NOT_FOUND is an answer too (the
   * ids that are not there); any other error is the read's failure.
   */
  async batchRead(ids: readonly string[], properties: readonly string[], archived: boolean): Promise<ObjectJson[]> {
    const found: ObjectJson[] = [];
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += batchSize) {
      const chunk = unique.slice(start, start + batchSize);
      const response = await this.client.request('POST', `${this.base}/batch/read`, {
        query: { archived: String(archived) },
        body: { inputs: chunk.map((id) => ({ id })), properties: [...properties], propertiesWithHistory: [] },
        repeatable: true,
      });
      if (response.status !== 200 && response.status !== 207) throw this.client.failure(response);
      const other = errorList(response).find((error) => error.category !== 'OBJECT_NOT_FOUND');
      if (other) throw new ConnectorError(`${response.shown}: ${errorMessage(response, other)}`, { retryable: false });
      found.push(...resultList(response));
    }
    return found;
  }
}

/** Consecutive ops of one kind, at most 100, never two on one id. */
function runs(ops: readonly WriteOp[]): Array<Array<Indexed<WriteOp['kind']>>> {
  const out: Array<Array<Indexed<WriteOp['kind']>>> = [];
  let current: Array<Indexed<WriteOp['kind']>> = [];
  let ids = new Set<string>();
  ops.forEach((op, index) => {
    const id = op.kind === 'create' ? null : op.id;
    const kind = current[0]?.op.kind;
    if (current.length > 0 && (kind !== op.kind || current.length >= batchSize || (id !== null && ids.has(id)))) {
      out.push(current);
      current = [];
      ids = new Set();
    }
    current.push({ index, op } as Indexed<WriteOp['kind']>);
    if (id !== null) ids.add(id);
  });
  if (current.length > 0) out.push(current);
  return out;
}

/** Unique within a request, which is all HubSpot asks of it. */
function traceId(index: number): string {
  return `syncline-${index}`;
}

function written(object: ObjectJson & { objectWriteTraceId?: unknown }): WriteResult {
  return { ok: true, id: String(object.id), version: latest([object.updatedAt, ...Object.entries(object.properties ?? {}).filter(([name]) => name === 'lastmodifieddate' || name === 'hs_lastmodifieddate').map(([, value]) => value)]) };
}

function resultList(response: HubSpotResponse): Array<ObjectJson & { objectWriteTraceId?: unknown }> {
  const results = (response.body as { results?: unknown } | null)?.results;
  return Array.isArray(results) ? (results.filter((entry) => typeof entry === 'object' && entry !== null && 'id' in entry) as Array<ObjectJson & { objectWriteTraceId?: unknown }>) : [];
}

interface BatchError {
  category?: unknown;
  message?: unknown;
  context?: Record<string, unknown>;
}

function errorList(response: HubSpotResponse): BatchError[] {
  const errors = (response.body as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? (errors.filter((entry) => typeof entry === 'object' && entry !== null) as BatchError[]) : [];
}

function contextList(error: BatchError, key: string): string[] {
  const value = error.context?.[key];
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
}

function errorMessage(response: HubSpotResponse, error: BatchError): string {
  const category = typeof error.category === 'string' ? ` (${error.category})` : '';
  return `${response.shown}: HubSpot refused this record${category} — ${typeof error.message === 'string' ? error.message.slice(0, 400) : 'no message'}`;
}

/**
 * A 4xx for the whole batch: the standard error envelope (`status: "error"`, Error handling), not a batch answer
 * (`status: "COMPLETE"`): one input's values, or a unique value taken, refused them all.
 */
function isWholeBatchRefusal(response: HubSpotResponse): boolean {
  return (response.status === 400 || response.status === 409) && (response.body as { status?: unknown } | null)?.status !== 'COMPLETE';
}

