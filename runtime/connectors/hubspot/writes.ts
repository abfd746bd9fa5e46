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
 *   fails its own op only. An update giving a contact an email another contact holds fails its op, naming that contact.
 * - HubSpot moves a lifecycle stage forward only, and keeps its own when an update writes an earlier one: those are
 *   cleared, then written again, in two more requests (`moveStagesBack`).
 * - A delete is an archive, which HubSpot answers 204 whatever the ids: the ids are read first (live, then archived),
 *   so an op on an id that never existed is `missing` and one on an archived record succeeds as it is.
 * - A rate limit longer than the pass waits fails the op it met and every later one, retryable, with when to come back;
 *   refused credentials fail the rest likewise, not retryable.
 */
import { ConnectorError, RateLimitedError, type WriteOp, type WriteResult, failedWrite } from '../types';
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
          failure = failedWrite(caught);
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
        for (const trace of contextList(error, 'objectWriteTraceId')) {
          const entry = inputs.find((input) => input.input.objectWriteTraceId === trace);
          if (entry) results[entry.index] ??= refused(error.category === 'CONFLICT' ? conflictMessage(response, error, entry.input.properties, 'create') : errorMessage(response, error));
        }
      }
      for (const { index } of inputs) {
        // Not in the answer at all: it may have been made, so it is not repeated (a second contact would follow).
        results[index] ??= { ...unsure(`${response.shown}: ${response.status}, but HubSpot's answer names neither a new record nor an error for this input; check HubSpot before syncing it again`) };
      }
      return;
    }
    if (isWholeBatchRefusal(response) && inputs.length > 1) {
      // One bad input refuses the batch: each goes again alone, so the good ones are made and the bad one is named.
      for (const entry of inputs) await this.create([run.find((item) => item.index === entry.index) as Indexed<'create'>], catalog, results);
      return;
    }
    if (loneConflict(response, inputs, 'create', results)) return;
    const failure = this.client.failure(response);
    // A create that failed on HubSpot's side (a 5xx) may have made the record: not repeated, so there is never a second
    // one, and journaled by the engine for the next pass to adopt; a 4xx made nothing.
    for (const { index } of inputs) results[index] = response.status >= 500 ? unsure(failure.message) : refused(failure.message);
  }

  private async update(run: Array<Indexed<'update'>>, catalog: PropertyCatalog, results: Array<WriteResult | undefined>): Promise<void> {
    const inputs = await this.updateInputs(run, catalog, results);
    if (inputs.length === 0) return;
    const response = await this.client.request('POST', `${this.base}/batch/update`, { body: { inputs: inputs.map((entry) => entry.input) }, repeatable: true });
    if (response.status === 200 || response.status === 207) {
      const written = applyUpdateAnswer(response, inputs, results);
      await this.moveStagesBack(stagesKept(inputs, written), results);
      return;
    }
    if (isWholeBatchRefusal(response) && inputs.length > 1) {
      for (const entry of inputs) await this.update([run.find((item) => item.index === entry.index) as Indexed<'update'>], catalog, results);
      return;
    }
    if (loneConflict(response, inputs, 'update', results)) return;
    const failure = this.client.failure(response);
    for (const { index } of inputs) results[index] = { ok: false, reason: 'failed', message: failure.message, retryable: failure.retryable };
  }

  /**
   * The inputs of a run of updates, each with its own trace id. An op HubSpot cannot take fails here; one that
   * changes nothing succeeds with the version HubSpot holds (or finds the record gone), and is not sent.
   */
  private async updateInputs(run: Array<Indexed<'update'>>, catalog: PropertyCatalog, results: Array<WriteResult | undefined>): Promise<UpdateInput[]> {
    const inputs: UpdateInput[] = [];
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
      const found = await this.readVersions(unchanged.map((entry) => entry.id), false);
      for (const { index, id } of unchanged) results[index] = found.has(id) ? { ok: true, id, version: found.get(id) ?? null } : { ok: false, reason: 'missing' };
    }
    return inputs;
  }

  /**
   * Moves back the lifecycle stages HubSpot kept. It moves a stage forward only, and answers a write of an earlier one
   * 200 with the stage unchanged; to move it back, "first set the value to "" (empty string), then (in a separate
   * request) set the earlier lifecycle stage value" (HubSpot on integrate.hubspot.com/t/1333; test/fakes/hubspot/
   * SOURCES.md). So: one batch clears them, the next sets them. A stage HubSpot keeps even then fails its op, named,
   * rather than coming back as a difference every pass.
   */
  private async moveStagesBack(kept: readonly KeptStage[], results: Array<WriteResult | undefined>): Promise<void> {
    if (kept.length === 0) return;
    // Not done until both requests are: a rate limit or a failure between them fails these ops, not reports them done.
    for (const { index } of kept) results[index] = undefined;
    const cleared = await this.writeStage(kept, () => '', results, (entry) => `HubSpot kept lifecycle stage "${entry.kept}" (it moves a stage back only once it is cleared), and clearing it failed`);
    const again = kept.filter((entry) => cleared.has(entry.index));
    for (const { index } of again) results[index] = undefined;
    const set = await this.writeStage(again, (entry) => entry.stage, results, (entry) => `the lifecycle stage was cleared to move it back from "${entry.kept}", but writing "${entry.stage}" failed; the next sync writes it again`);
    for (const entry of again) {
      const stage = set.get(entry.index)?.properties?.[lifecycleStage];
      if (set.has(entry.index) && stage !== entry.stage) {
        results[entry.index] = refused(`properties.${lifecycleStage}: HubSpot kept "${String(stage ?? '')}" even after the stage was cleared and "${entry.stage}" written again; check what sets it in HubSpot (a workflow, another integration) before syncing this record again`);
      }
    }
  }

  /** One batch/update of the lifecycle stage of these ops: the objects written, by op; a failure fails its op. */
  private async writeStage(entries: readonly KeptStage[], stage: (entry: KeptStage) => string, results: Array<WriteResult | undefined>, context: (entry: KeptStage) => string): Promise<Map<number, ObjectJson>> {
    if (entries.length === 0) return new Map();
    const inputs: UpdateInput[] = entries.map((entry) => ({ index: entry.index, id: entry.id, input: { id: entry.id, properties: { [lifecycleStage]: stage(entry) }, objectWriteTraceId: traceId(entry.index) } }));
    const response = await this.client.request('POST', `${this.base}/batch/update`, { body: { inputs: inputs.map((entry) => entry.input) }, repeatable: true });
    if (response.status !== 200 && response.status !== 207) {
      const failure = this.client.failure(response);
      for (const entry of entries) results[entry.index] = { ok: false, reason: 'failed', message: `properties.${lifecycleStage}: ${context(entry)}: ${failure.message}`, retryable: failure.retryable };
      return new Map();
    }
    const answered: Array<WriteResult | undefined> = [];
    const written = applyUpdateAnswer(response, inputs, answered);
    for (const entry of entries) {
      const result = answered[entry.index] ?? refused('internal: no result for this op');
      results[entry.index] = result.ok || result.reason !== 'failed' ? result : { ...result, message: `properties.${lifecycleStage}: ${context(entry)}: ${result.message}` };
    }
    return written;
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

interface UpdateInput {
  index: number;
  id: string;
  input: { id: string; properties: Record<string, string>; objectWriteTraceId: string };
}

/** HubSpot's lifecycle stage, which it moves forward only (see `moveStagesBack`). */
const lifecycleStage = 'lifecyclestage';

/** An op that wrote an earlier lifecycle stage than the one HubSpot kept. */
interface KeptStage {
  index: number;
  id: string;
  stage: string;
  kept: string;
}

/**
 * Maps a batch/update answer (200, 207) to its ops: the objects HubSpot names by id, the refusals by trace id or by
 * `context.ids`; an op it names neither way fails, retryable. The objects written, by op.
 */
function applyUpdateAnswer(response: HubSpotResponse, inputs: readonly UpdateInput[], results: Array<WriteResult | undefined>): Map<number, ObjectJson> {
  const byId = new Map(inputs.map((entry) => [entry.id, entry]));
  const byTrace = new Map(inputs.map((entry) => [entry.input.objectWriteTraceId, entry]));
  const objects = new Map<number, ObjectJson>();
  for (const object of resultList(response)) {
    const entry = byId.get(String(object.id));
    if (!entry) continue;
    results[entry.index] = written(object);
    objects.set(entry.index, object);
  }
  for (const error of errorList(response)) {
    const entries = [...contextList(error, 'objectWriteTraceId').map((trace) => byTrace.get(trace)), ...contextList(error, 'ids').map((id) => byId.get(id))];
    for (const entry of entries) {
      if (!entry) continue;
      if (error.category === 'OBJECT_NOT_FOUND') results[entry.index] ??= { ok: false, reason: 'missing' };
      else results[entry.index] ??= refused(error.category === 'CONFLICT' ? conflictMessage(response, error, entry.input.properties, 'update') : errorMessage(response, error));
    }
  }
  for (const { index } of inputs) {
    results[index] ??= { ok: false, reason: 'failed', message: `${response.shown}: ${response.status}, but HubSpot's answer names neither the record nor an error for it (merged into another record?)`, retryable: true };
  }
  return objects;
}

/** The ops whose answer shows another lifecycle stage than the one they wrote: HubSpot kept its own. */
function stagesKept(inputs: readonly UpdateInput[], objects: ReadonlyMap<number, ObjectJson>): KeptStage[] {
  const kept: KeptStage[] = [];
  for (const { index, id, input } of inputs) {
    const stage = input.properties[lifecycleStage];
    const answered = objects.get(index)?.properties?.[lifecycleStage];
    // An answer without the property tells nothing; one with it is what HubSpot holds now.
    if (stage && answered !== undefined && answered !== stage) kept.push({ index, id, stage, kept: String(answered ?? '') });
  }
  return kept;
}

/**
 * A batch of one HubSpot refused whole (409) for a unique value another record holds: that op fails with the other
 * record named. False for any other answer.
 */
function loneConflict(response: HubSpotResponse, inputs: ReadonlyArray<{ index: number; input: { properties: Record<string, string> } }>, kind: 'create' | 'update', results: Array<WriteResult | undefined>): boolean {
  const [only] = inputs;
  if (!only || inputs.length !== 1 || response.status !== 409 || typeof response.body !== 'object' || response.body === null) return false;
  results[only.index] = refused(conflictMessage(response, response.body as BatchError, only.input.properties, kind));
  return true;
}

/**
 * A create or update HubSpot refused for a unique value another record holds: for contacts, the email ("Contact
 * already exists. Existing ID: 151"). The other record is named from `context.existingId` or HubSpot's message. A
 * create means the flow did not link the record to the one HubSpot has: matching on the email links them instead.
 */
function conflictMessage(response: HubSpotResponse, error: BatchError, properties: Readonly<Record<string, string>>, kind: 'create' | 'update'): string {
  const said = typeof error.message === 'string' ? error.message.slice(0, 400) : '';
  const other = contextList(error, 'existingId')[0] ?? /Existing ID:\s*(\d+)/.exec(said)?.[1];
  const email = properties.email;
  const what = email !== undefined ? `properties.email "${email}"` : 'a unique value of this record';
  const holder = other ? `record ${other}` : 'another record';
  const remedy =
    kind === 'create'
      ? 'so it was not created: with properties.email among the conflict node\'s match fields, the next pass links the two instead; or change the email on one of them'
      : 'and HubSpot keeps it on one record only: change it on one of the two, or merge the two records in HubSpot, then sync again';
  return `${response.shown}: ${what} is already ${holder}'s in HubSpot (HubSpot: "${said}"), ${remedy}`;
}

/** A create whose outcome is unknown: not repeated, and adopted by the next pass if HubSpot made it. */
function unsure(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false, mayHaveApplied: true };
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

