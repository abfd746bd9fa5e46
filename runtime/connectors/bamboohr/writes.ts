/**
 * Writing employees: Create Employee (`POST /api/v1/employees`, 201 with a `Location` naming the new id, no body) and
 * Update Employee (`POST /api/v1/employees/{id}` with only the fields that change, 200, no body). Neither answers
 * with the employee, so each write reads the new `lastChanged` back (Get Employee with `fields=lastChanged`) to return
 * the version. BambooHR has no conditional update; writes are not conditional.
 *
 * BambooHR's answers, as the OpenAPI description and the Technical Overview give them: 400 (malformed, or no first or
 * last name), 403 (the key's user may not add or edit that employee or field), 404 (no such employee), 406 (a field
 * that does not exist), 409 (an invalid value: a duplicate email, an unknown country), 429 without Retry-After (the
 * account's employee limit). The reason is in `X-BambooHR-Error-Message`.
 *
 * The REST API has no call that deletes an employee — the OpenAPI description has no DELETE on /api/v1/employees/… —
 * and an HR system keeps leavers anyway: a terminated employee stays, with status Inactive. So `deletes` is
 * `cannot`: the engine never plans a delete here, and one asked for anyway is refused.
 */
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, RateLimitedError, type WriteOp, type WriteResult, failedWrite } from '../types';
import { BambooHrCredentialsError, errorText, type BambooHrClient, type BambooHrResponse } from './client';
import { employeeId } from './changes';
import { bookkeepingFields } from './config';
import { readOnlyFields, writeValue, type FieldCatalog } from './fields';
import { isoVersion } from '../timestamps';

/** A field name a write may carry: an API alias or a custom field's numeric id. */
const writableName = /^(?:[A-Za-z][A-Za-z0-9_]{0,99}|\d{1,10})$/;

export const deleteRefusal =
  "BambooHR's API cannot delete employees, and a leaver is terminated rather than deleted (status Inactive): set deletes to \"ignore\" on the conflict node, and let a termination reach the other side as a status";

/** A failed write that retrying cannot fix. */
export function refused(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

/**
 * Applies ops one by one (BambooHR has no batch write), one result per op. A failure of one op does not stop the
 * others, except where every further request would fail the same way: throttling longer than the pass waits (the
 * rest fail retryable, with when to come back) and a refused key. Results of ops already applied are kept: an
 * exception here would make the engine think none of them happened. `catalog` gives the company's field types, which
 * decide how a value is written (a checkbox takes "yes" or "no"); it is asked for at the first create or update.
 */
export async function writeEmployees(client: BambooHrClient, ops: readonly WriteOp[], catalog: () => Promise<FieldCatalog>): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  let rest: WriteResult | null = null;
  for (const op of ops) {
    if (rest) {
      results.push(rest);
      continue;
    }
    try {
      results.push(op.kind === 'delete' ? refused(deleteRefusal) : await writeOne(client, op, await catalog()));
    } catch (caught) {
      const failed = failedOp(client, caught);
      results.push(failed.result);
      if (failed.stopsTheRest) rest = failed.result;
    }
  }
  return results;
}

/** An op's failure as its result, and whether every further op would fail the same way; unexpected errors go on up. */
function failedOp(client: BambooHrClient, caught: unknown): { result: WriteResult; stopsTheRest: boolean } {
  if (caught instanceof RateLimitedError) {
    return { result: { ok: false, reason: 'failed', message: caught.message, retryable: true, retryAfterMs: Math.max(0, caught.resumeAt.getTime() - client.now()) }, stopsTheRest: true };
  }
  if (caught instanceof BambooHrCredentialsError) return { result: refused(caught.message), stopsTheRest: true };
  if (caught instanceof ConnectorError) return { result: failedWrite(caught), stopsTheRest: false };
  throw caught;
}

async function writeOne(client: BambooHrClient, op: Exclude<WriteOp, { kind: 'delete' }>, catalog: FieldCatalog): Promise<WriteResult> {
  const built = employeeInput(op.fields, catalog);
  if ('error' in built) return refused(built.error);
  if (op.kind === 'create') {
    // Create Employee: "At minimum, provide a first name and last name."
    const missing = ['firstName', 'lastName'].filter((name) => typeof built.input[name] !== 'string' || (built.input[name] as string).trim() === '');
    if (missing.length > 0) return refused(`BambooHR creates an employee only with a first and a last name: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing; map ${missing.length === 1 ? 'it' : 'them'} from the other side`);
    const response = await client.request('POST', client.url('/api/v1/employees'), built.input, { repeatable: false });
    if (response.status !== 201 && response.status !== 200) return failure(client, response, 'the new employee');
    const id = createdId(response);
    if (id === null) return refused(`${response.shown}: ${response.status} without the new employee's id in the Location header (${response.headers.get('location') ?? 'none'})`);
    return { ok: true, id, version: (await versionAfterWrite(client, id)) ?? null };
  }
  const id = employeeId(op.id);
  if (id === null) return { ok: false, reason: 'missing' };
  if (Object.keys(built.input).length > 0) {
    // An update sends the same fields again when repeated: safe to retry after a lost answer.
    const response = await client.request('POST', client.url(`/api/v1/employees/${id}`), built.input, { repeatable: true });
    if (response.status !== 200) return failure(client, response, `employee ${id}`);
  }
  const version = await versionAfterWrite(client, String(id));
  if (version === undefined) return { ok: false, reason: 'missing' };
  return { ok: true, id: String(id), version };
}

/** The body of a create or update, each value as its field's type is written, or why these fields cannot be written. */
export function employeeInput(fields: FlowRecord, catalog: FieldCatalog): { input: Record<string, unknown> } | { error: string } {
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const bookkeeping = bookkeepingFields[name];
    if (bookkeeping !== undefined) return { error: `${name} is ${bookkeeping}: it cannot be written as a field` };
    const readOnly = readOnlyFields[name];
    if (readOnly !== undefined) return { error: `${name} is read only in BambooHR (${readOnly}); map it in the direction out of BambooHR only` };
    if (!writableName.test(name)) return { error: `"${name}" is not a BambooHR field name: use the API alias (firstName, workEmail) or a custom field's numeric id` };
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return { error: `${name} must be text, a number, true/false or null; BambooHR keeps no lists or objects in an employee field` };
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return { error: `${name} must be a finite number` };
    const written = writeValue(name, catalog.find(name)?.type, value);
    if ('error' in written) return written;
    input[name] = written.value;
  }
  return { input };
}

/** The new employee's id from Create Employee's `Location` ("The ID of the employee will be included"). */
function createdId(response: BambooHrResponse): string | null {
  const location = response.headers.get('location');
  if (!location) return null;
  const match = /[?&]id=(\d+)/.exec(location) ?? /\/(\d+)\/?(?:[?#].*)?$/.exec(location);
  return match ? (match[1] as string) : null;
}

/**
 * The version after a write that BambooHR applied. Reading it may fail (throttled, say) after the write went through:
 * then the version is unknown (null) rather than the write failed, or the engine would repeat a create and hire the
 * person twice. The next listing brings the version.
 */
async function versionAfterWrite(client: BambooHrClient, id: string): Promise<string | null | undefined> {
  try {
    return await versionOf(client, id);
  } catch (caught) {
    if (caught instanceof ConnectorError || caught instanceof RateLimitedError) return null;
    throw caught;
  }
}

/** The employee's `lastChanged` as a version; undefined when the employee does not exist. */
async function versionOf(client: BambooHrClient, id: string): Promise<string | null | undefined> {
  const response = await client.request('GET', client.url(`/api/v1/employees/${id}`, { fields: 'lastChanged' }));
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw client.failure(response);
  return isoVersion((client.jsonBody(response) as { lastChanged?: unknown } | null)?.lastChanged);
}

function failure(client: BambooHrClient, response: BambooHrResponse, what: string): WriteResult {
  const why = errorText(response);
  const said = why ? ` — ${why}` : '';
  switch (response.status) {
    case 404:
      if (what !== 'the new employee') return { ok: false, reason: 'missing' };
      break;
    case 400:
      return refused(`${response.shown}: 400, BambooHR refused ${what}: the body is malformed or a required field is missing${said}`);
    case 403:
      return refused(`${response.shown}: 403, the API key's user may not ${what === 'the new employee' ? 'add employees' : `edit ${what}`} or one of these fields; check the user's access level in BambooHR${said}`);
    case 406:
      return refused(`${response.shown}: 406, a field does not exist in this BambooHR company${said}`);
    case 409:
      return refused(`${response.shown}: 409, BambooHR refused a value (a duplicate email, or a value its list does not allow)${said}`);
    case 429:
      return refused(`${response.shown}: 429, the BambooHR account has reached its employee limit; no more employees can be added${said}`);
  }
  const error = client.failure(response);
  // A create that failed with a 5xx may have been applied (the engine keeps it journaled for the next pass to adopt);
  // an update sends the same fields again when retried.
  const create = what === 'the new employee';
  return { ok: false, reason: 'failed', message: error.message, retryable: error.retryable && !create, ...(create && response.status >= 500 ? { mayHaveApplied: true } : {}) };
}
