/**
 * `POST /crm/v3/objects/{objectType}/search` as HubSpot documents it — Search the CRM,
 * https://developers.hubspot.com/docs/api-reference/search/guide (and the OpenAPI `PublicObjectSearchRequest`):
 *
 * - `filterGroups` are ORed, the filters inside one group ANDed; at most 5 groups, 6 filters a group, 18 in all
 *   (Limitations). Operators: EQ, NEQ, LT, LTE, GT, GTE, BETWEEN (value, highValue), IN / NOT_IN (values),
 *   HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN (the OpenAPI `Filter.operator` enum).
 * - Dates are compared as instants, given "in ISO 8601 format or as UNIX timestamps in milliseconds".
 * - One sort only ("currently, only one sort parameter is supported", hubspot-api-nodejs README); without one,
 *   results come oldest-created first. Equal sort values come in no documented order: the fake orders them by a hash
 *   of the id, stable from one request to the next but not id order.
 * - `limit` up to 200 (OpenAPI: "up to 200 objects"), default 10; `after` is the offset as text and
 *   `paging.next.after` the next one. "The search endpoints are limited to 10,000 total results for any given query.
 *   Attempting to page beyond 10,000 will result in a 400 error." `total` counts every match.
 * - It searches the index, which trails the records (see Portal.searchView).
 */
import { createHash } from 'node:crypto';
import type { CrmObject, ObjectState, ObjectType, Portal } from './portal';
import { invalidInput, searchBeyondTenThousand } from './responses';

export const searchCeiling = 10_000;
const maxLimit = 200;
const limits = { groups: 5, perGroup: 6, total: 18 };

interface Filter {
  propertyName: string;
  operator: string;
  value?: unknown;
  highValue?: unknown;
  values?: unknown[];
}

export interface SearchAnswer {
  total: number;
  results: Array<{ object: CrmObject; state: ObjectState }>;
  nextAfter: string | null;
}

export function search(portal: Portal, type: ObjectType, body: Record<string, unknown>): SearchAnswer {
  const groups = readGroups(body.filterGroups);
  const limit = body.limit === undefined ? 10 : Number(body.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw invalidInput(`limit must be between 1 and ${maxLimit}`);
  const offset = body.after === undefined || body.after === null || body.after === '' ? 0 : Number(body.after);
  if (!Number.isInteger(offset) || offset < 0) throw invalidInput('after must be a paging token from paging.next.after');
  if (offset >= searchCeiling) throw searchBeyondTenThousand();
  const sort = readSort(body.sorts);

  const matches: Array<{ object: CrmObject; state: ObjectState; key: Comparable; tie: number }> = [];
  for (const object of portal.objects[type].values()) {
    const state = portal.searchView(object);
    if (!state) continue;
    if (groups.length === 0 || groups.some((filters) => filters.every((filter) => matchesFilter(portal, type, state, filter)))) {
      matches.push({ object, state, key: sortValue(portal, type, state, sort.property), tie: tieOrder(object.id) });
    }
  }
  matches.sort((a, b) => {
    const byValue = compareValues(a.key, b.key);
    if (byValue !== 0) return sort.descending ? -byValue : byValue;
    return a.tie - b.tie || (a.object.id < b.object.id ? -1 : 1);
  });
  const reachable = Math.min(matches.length, searchCeiling);
  const end = Math.min(offset + limit, reachable);
  const results = matches.slice(offset, end).map(({ object, state }) => ({ object, state }));
  // When more matched than a search can reach, the last reachable page still points at offset 10,000, which then
  // answers 400 (recorded: paging.next.after "10000" with total 25000).
  const nextAfter = end < matches.length ? String(end) : null;
  return { total: matches.length, results, nextAfter };
}

function readGroups(value: unknown): Filter[][] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidInput('filterGroups must be a list');
  if (value.length > limits.groups) throw invalidInput(`at most ${limits.groups} filterGroups`);
  let total = 0;
  return value.map((group) => {
    const filters = (group as { filters?: unknown } | null)?.filters;
    if (!Array.isArray(filters)) throw invalidInput('each filter group needs filters');
    if (filters.length > limits.perGroup) throw invalidInput(`at most ${limits.perGroup} filters in a group`);
    total += filters.length;
    if (total > limits.total) throw invalidInput(`at most ${limits.total} filters in all`);
    return filters.map((filter) => {
      const candidate = filter as Partial<Filter> | null;
      if (typeof candidate?.propertyName !== 'string' || typeof candidate.operator !== 'string') throw invalidInput('a filter needs propertyName and operator');
      return candidate as Filter;
    });
  });
}

/** `sorts`: `[{propertyName, direction}]`, or the short form `["-createdate"]`; only the first is used. */
function readSort(value: unknown): { property: string; descending: boolean } {
  const first = Array.isArray(value) ? value[0] : undefined;
  if (typeof first === 'string') return first.startsWith('-') ? { property: first.slice(1), descending: true } : { property: first, descending: false };
  if (first && typeof first === 'object') {
    const { propertyName, direction } = first as { propertyName?: unknown; direction?: unknown };
    if (typeof propertyName === 'string') return { property: propertyName, descending: direction === 'DESCENDING' };
  }
  return { property: 'createdate', descending: false };
}

const tieKeys = new Map<string, number>();
function tieOrder(id: string): number {
  let key = tieKeys.get(id);
  if (key === undefined) {
    key = createHash('sha256').update(id).digest().readUInt32BE(0);
    tieKeys.set(id, key);
  }
  return key;
}

type Comparable = number | string | null;

function compareValues(a: Comparable, b: Comparable): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/** Each state's values as compared, worked out once: a search reads every record, and states never change. */
const compared = new WeakMap<ObjectState, Map<string, Comparable>>();

function sortValue(portal: Portal, type: ObjectType, state: ObjectState, property: string): Comparable {
  let values = compared.get(state);
  if (!values) compared.set(state, (values = new Map()));
  if (values.has(property)) return values.get(property) as Comparable;
  const raw = state.properties.get(property);
  const value = raw === undefined ? null : comparable(portal, type, property, raw);
  values.set(property, value);
  return value;
}

/** A stored or filter value in the property's own order: instants and numbers as numbers, text case-insensitively. */
function comparable(portal: Portal, type: ObjectType, property: string, raw: string): Comparable {
  const definition = portal.properties[type].get(property);
  if (definition?.type === 'datetime' || definition?.type === 'date') {
    const time = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    return Number.isFinite(time) ? time : null;
  }
  if (definition?.type === 'number') {
    const number = Number(raw);
    return Number.isFinite(number) ? number : null;
  }
  return raw.toLowerCase();
}

function matchesFilter(portal: Portal, type: ObjectType, state: ObjectState, filter: Filter): boolean {
  const stored = state.properties.get(filter.propertyName);
  const have = sortValue(portal, type, state, filter.propertyName);
  const want = (value: unknown): Comparable => (value === undefined || value === null ? null : comparable(portal, type, filter.propertyName, String(value)));
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return stored !== undefined;
    case 'NOT_HAS_PROPERTY':
      return stored === undefined;
    case 'EQ':
      return have !== null && compareValues(have, want(filter.value)) === 0;
    case 'NEQ':
      return have === null || compareValues(have, want(filter.value)) !== 0;
    case 'LT':
      return have !== null && compareValues(have, want(filter.value)) < 0;
    case 'LTE':
      return have !== null && compareValues(have, want(filter.value)) <= 0;
    case 'GT':
      return have !== null && compareValues(have, want(filter.value)) > 0;
    case 'GTE':
      return have !== null && compareValues(have, want(filter.value)) >= 0;
    case 'BETWEEN':
      return have !== null && compareValues(have, want(filter.value)) >= 0 && compareValues(have, want(filter.highValue)) <= 0;
    case 'IN':
      return have !== null && (filter.values ?? []).some((value) => compareValues(have, want(value)) === 0);
    case 'NOT_IN':
      return have === null || !(filter.values ?? []).some((value) => compareValues(have, want(value)) === 0);
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      // A token of the value, `*` standing for any characters.
      const pattern = new RegExp(`^${String(filter.value ?? '').toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
      const found = stored !== undefined && stored.toLowerCase().split(/[\s@.,;]+/).some((token) => pattern.test(token));
      return filter.operator === 'CONTAINS_TOKEN' ? found : !found;
    }
    default:
      throw invalidInput(`unknown operator ${filter.operator}`);
  }
}
