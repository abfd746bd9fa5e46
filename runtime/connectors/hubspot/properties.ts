/**
 * The properties of one object type, from HubSpot's properties API (`GET /crm/v3/properties/{objectType}`,
 * CRM Properties: `{results: [{name, label, type, fieldType, calculated, modificationMetadata: {readOnlyValue}, …}]}`),
 * and how their values read and write. HubSpot carries every value as text ("property_number": "17",
 * "property_checkbox": "false", OpenAPI `SimplePublicObject` example); a flow sees numbers as numbers, booleans as
 * booleans, a property without a value as null, and everything else as the text HubSpot holds.
 */
import type { FlowRecord } from '../../../nodes/types';
import { formatPath } from '../../../nodes/paths';
import { ConnectorError, type FieldDescription } from '../types';
import type { HubSpotClient } from './client';
import { defaultProperties, type HubSpotCollection } from './config';
import { hubspotTime, readTime } from './dates';

export interface PropertyInfo {
  name: string;
  label: string;
  /** string, number, date, datetime, enumeration, bool, phone_number, … */
  type: string;
  fieldType: string;
  groupName: string;
  /** HubSpot keeps the value itself: calculated, or `modificationMetadata.readOnlyValue`. */
  readOnly: boolean;
}

/**
 * The record's key and version: `hs_object_id` is its id, and the last-modified date its `updatedAt`
 * (`lastmodifieddate` for contacts, `hs_lastmodifieddate` for companies). They are bookkeeping, never fields.
 */
export const versionProperty: Record<HubSpotCollection, string> = { contacts: 'lastmodifieddate', companies: 'hs_lastmodifieddate' };
export const bookkeepingProperties: Record<HubSpotCollection, ReadonlySet<string>> = {
  contacts: new Set(['hs_object_id', 'lastmodifieddate', 'hs_lastmodifieddate']),
  companies: new Set(['hs_object_id', 'hs_lastmodifieddate']),
};

/** Where the properties sit in a record: `properties.email`, as the flow addresses them. */
export const propertiesField = 'properties';

/** The properties of a collection, and the ones this connection syncs. */
export class PropertyCatalog {
  private constructor(
    readonly collection: HubSpotCollection,
    readonly all: ReadonlyMap<string, PropertyInfo>,
    /** The synced properties, in the connection's order. */
    readonly synced: readonly PropertyInfo[],
  ) {}

  /** Reads the object type's properties and checks the connection's against them, each problem with its path. */
  static async load(client: HubSpotClient, collection: HubSpotCollection, wanted: readonly string[] | null): Promise<PropertyCatalog> {
    return PropertyCatalog.of(collection, await listProperties(client, collection), wanted);
  }

  /** The catalog of properties already listed. */
  static of(collection: HubSpotCollection, all: ReadonlyMap<string, PropertyInfo>, wanted: readonly string[] | null): PropertyCatalog {
    const names = wanted ?? defaultProperties[collection];
    const problems: string[] = [];
    const synced: PropertyInfo[] = [];
    names.forEach((name, index) => {
      const info = all.get(name);
      const at = wanted === null ? `(the default properties of ${collection})` : `connection.properties[${index}]`;
      if (bookkeepingProperties[collection].has(name)) problems.push(`${at}: "${name}" is the record's ${name === 'hs_object_id' ? 'id' : 'version'}, kept apart from its fields; leave it out`);
      else if (!info) problems.push(`${at}: HubSpot ${collection} have no property "${name}"${suggestion(name, all)}`);
      else synced.push(info);
    });
    if (problems.length > 0) throw new ConnectorError(problems.join('; '));
    return new PropertyCatalog(collection, all, synced);
  }

  /** The names asked of HubSpot on every read: the synced properties and the version. */
  requested(): string[] {
    return [...this.synced.map((info) => info.name), versionProperty[this.collection]];
  }

  /** The fields a flow sees, `properties.<name>` each, with a type a flow understands. */
  describe(): FieldDescription[] {
    return this.synced.map((info) => ({ name: formatPath([propertiesField, info.name]), type: flowType(info), nullable: true }));
  }

  /** HubSpot's `properties` object as the record's fields: the synced properties only, converted. */
  read(properties: Record<string, unknown>): FlowRecord {
    const values: FlowRecord = {};
    for (const info of this.synced) values[info.name] = readValue(info, properties[info.name]);
    return { [propertiesField]: values };
  }

  /**
   * A write's fields as the next read will find them (`Connector.storedForm`): each synced property's value through
   * the text HubSpot takes and back, so a datetime in another zone becomes HubSpot's UTC text and a number written as
   * text a number. A value HubSpot would refuse, and anything that is not a synced property, stays as it is.
   */
  storedForm(fields: FlowRecord): FlowRecord {
    const values = fields[propertiesField];
    if (typeof values !== 'object' || values === null || Array.isArray(values)) return fields;
    let stored: Record<string, unknown> | null = null;
    for (const [name, value] of Object.entries(values)) {
      const info = this.synced.find((candidate) => candidate.name === name);
      if (!info || info.readOnly) continue;
      const written = writeValue(info, value);
      if (!('text' in written)) continue;
      const read = readValue(info, written.text);
      if (read === value) continue;
      stored ??= { ...values };
      stored[name] = read;
    }
    return stored ? { ...fields, [propertiesField]: stored } : fields;
  }

  /**
   * A write's fields as HubSpot's `properties` input, or why they cannot be written. Only `properties` is a field,
   * and inside it only synced, writable properties; null clears a property (HubSpot: "Properties values can be cleared
   * by passing an empty string").
   */
  input(fields: FlowRecord): { properties: Record<string, string> } | { error: string } {
    const properties: Record<string, string> = {};
    for (const [field, value] of Object.entries(fields)) {
      if (field !== propertiesField) {
        const inside = bookkeepingProperties[this.collection].has(field) || this.all.has(field);
        return { error: `${field} is not a field of HubSpot ${this.collection}: ${inside ? `properties are written as properties.${field}` : `the fields are properties.<name>, one for each of ${this.synced.map((info) => info.name).join(', ')}`}` };
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: `properties must be an object of property values, got ${preview(value)}` };
      for (const [name, leaf] of Object.entries(value)) {
        if (name === 'hs_object_id') return { error: 'properties.hs_object_id is the record\'s id, kept by HubSpot: it cannot be written' };
        if (bookkeepingProperties[this.collection].has(name)) return { error: `properties.${name} is the record's last-modified date, kept by HubSpot: it cannot be written` };
        const info = this.synced.find((candidate) => candidate.name === name);
        if (!info) {
          const known = this.all.get(name);
          return { error: known ? `properties.${name} is not among connection.properties (${this.synced.map((candidate) => candidate.name).join(', ')}): add it there to sync it` : `HubSpot ${this.collection} have no property "${name}"${suggestion(name, this.all)}` };
        }
        if (info.readOnly) return { error: `properties.${name} (${info.label}) is calculated or read-only in HubSpot: it cannot be written` };
        const written = writeValue(info, leaf);
        if ('problem' in written) return { error: `properties.${name} ${written.problem}` };
        properties[name] = written.text;
      }
    }
    return { properties };
  }
}

/** Every property of an object type, by name; archived properties are not listed (`archived=false`). */
export async function listProperties(client: HubSpotClient, collection: HubSpotCollection): Promise<Map<string, PropertyInfo>> {
  const body = await client.json('GET', `/crm/v3/properties/${collection}`, { query: { archived: 'false' }, repeatable: true });
  if (!Array.isArray(body.results)) throw new ConnectorError(`GET /crm/v3/properties/${collection}: expected {"results": [...]}, got no results list`);
  const all = new Map<string, PropertyInfo>();
  for (const entry of body.results as Array<Record<string, unknown>>) {
    if (typeof entry?.name !== 'string') continue;
    const metadata = (entry.modificationMetadata ?? {}) as { readOnlyValue?: unknown };
    all.set(entry.name, {
      name: entry.name,
      label: typeof entry.label === 'string' ? entry.label : entry.name,
      type: typeof entry.type === 'string' ? entry.type : 'string',
      fieldType: typeof entry.fieldType === 'string' ? entry.fieldType : 'text',
      groupName: typeof entry.groupName === 'string' ? entry.groupName : '',
      readOnly: metadata.readOnlyValue === true || entry.calculated === true,
    });
  }
  return all;
}

function flowType(info: PropertyInfo): string {
  if (info.type === 'number') return 'number';
  if (info.type === 'bool') return 'boolean';
  if (info.type === 'date' || info.type === 'datetime') return 'date';
  return 'string';
}

export function readValue(info: PropertyInfo, value: unknown): string | number | boolean | null {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value);
  if (info.type === 'number') {
    const number = Number(text);
    return Number.isFinite(number) ? number : text;
  }
  if (info.type === 'bool') return text === 'true' ? true : text === 'false' ? false : text;
  if (info.type === 'date' || info.type === 'datetime') return readTime(info.type, text);
  return text;
}

/**
 * A value as the text HubSpot takes, or why it cannot be written (said after the property's path). Dates and
 * datetimes go in the form HubSpot returns (dates.ts), so what is written is what the next read finds.
 */
function writeValue(info: PropertyInfo, value: unknown): { text: string } | { problem: string } {
  // "Properties values can be cleared by passing an empty string" (OpenAPI, batch/update), dates too.
  if (value === null || value === '') return { text: '' };
  if (info.type === 'date' || info.type === 'datetime') {
    const time = hubspotTime(info.type, value);
    return 'text' in time ? time : { problem: `(${info.label}, a ${info.type} in HubSpot): ${preview(value)} ${time.problem}` };
  }
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number' && Number.isFinite(value)) return { text: String(value) };
  if (typeof value === 'boolean') return { text: String(value) };
  return { problem: `must be text, a number, true or false, or null, got ${preview(value)}` };
}

function suggestion(name: string, all: ReadonlyMap<string, PropertyInfo>): string {
  const lower = name.toLowerCase();
  const close = [...all.keys()].find((candidate) => candidate.toLowerCase() === lower || candidate.replaceAll('_', '') === lower.replaceAll('_', ''));
  return close ? ` (did you mean "${close}"?)` : ' (Settings › Properties lists each property\'s internal name)';
}

export function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}
