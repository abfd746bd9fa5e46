import type { IncomingEvent } from '../db/webhookQueries';

/** Where the id and type sit in one event, when a trigger configures a body shape other than SPEC §10's. */
export interface EventShape {
  idPath?: string | undefined;
  typePath?: string | undefined;
}

export type ParsedEvents = { ok: true; events: IncomingEvent[] } | { ok: false; message: string; path: string };

const MAX_ID_LENGTH = 1024;

function at(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Reads the events of a webhook body: one JSON event or an array of them, by default
 * `{"type":"upsert"|"delete","id":"<record id>"}` (SPEC §10). With a configured `typePath`, a value containing
 * "delete" (delete, deleted, record.deleted) is a delete and anything else an upsert.
 */
export function parseEvents(raw: string, shape: EventShape): ParsedEvents {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    return { ok: false, path: '', message: `the body is not JSON (${(error as Error).message})` };
  }
  const list = Array.isArray(body) ? body : [body];
  const events: IncomingEvent[] = [];
  for (const [index, event] of list.entries()) {
    const where = Array.isArray(body) ? `[${index}]` : '';
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      return { ok: false, path: where, message: 'each event must be a JSON object such as {"type":"upsert","id":"42"}' };
    }
    const idPath = shape.idPath ?? 'id';
    const id = at(event, idPath);
    if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
      return { ok: false, path: `${where}.${idPath}`.replace(/^\./, ''), message: 'must be the record id, a non-empty string or a number' };
    }
    const recordId = String(id);
    if (recordId.length > MAX_ID_LENGTH) {
      return { ok: false, path: `${where}.${idPath}`.replace(/^\./, ''), message: `must be at most ${MAX_ID_LENGTH} characters` };
    }
    let type: IncomingEvent['type'];
    if (shape.typePath) {
      const value = at(event, shape.typePath);
      type = typeof value === 'string' && value.toLowerCase().includes('delete') ? 'delete' : 'upsert';
    } else {
      const value = (event as Record<string, unknown>).type;
      if (value !== 'upsert' && value !== 'delete') {
        return { ok: false, path: `${where}.type`.replace(/^\./, ''), message: 'must be "upsert" or "delete"' };
      }
      type = value;
    }
    events.push({ recordId, type });
  }
  return { ok: true, events };
}
