/**
 * One HubSpot account ("portal") as the fake keeps it: contacts and companies, their property definitions, archived
 * records, and the search index that trails the records by a lag. Plain data and rules, no HTTP: server.ts turns
 * requests into calls here. Each rule cites the documentation it follows; SOURCES.md lists them.
 */
import { storedTime } from './dates';
import { contactExistsMessage, type PropertyProblem } from './responses';

export const objectTypes = ['contacts', 'companies'] as const;
export type ObjectType = (typeof objectTypes)[number];

/** How a batch error names the object type ("Could not get some CONTACT objects"). */
export const singularName: Record<ObjectType, string> = { contacts: 'CONTACT', companies: 'COMPANY' };

/**
 * The property holding the last change time: `lastmodifieddate` for contacts, `hs_lastmodifieddate` for the other
 * objects (Search, "Searchable CRM objects" default properties; amp-labs/connectors#45: filtering contacts on
 * hs_lastmodifieddate silently fails, lastmodifieddate works).
 */
export const modifiedProperty: Record<ObjectType, string> = { contacts: 'lastmodifieddate', companies: 'hs_lastmodifieddate' };

/**
 * Properties returned when a request names none — Search, "Searchable CRM objects and engagements": contacts return
 * createdate, email, firstname, hs_object_id, lastmodifieddate, lastname; companies createdate, domain,
 * hs_lastmodifieddate, hs_object_id, name.
 */
export const defaultProperties: Record<ObjectType, readonly string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
};

/** A property definition as the properties API returns it (OpenAPI `Property`). */
export interface PropertyDefinition {
  name: string;
  label: string;
  /** string, number, date, datetime, enumeration, bool, phone_number */
  type: string;
  /** text, textarea, number, date, select, radio, checkbox, booleancheckbox, phonenumber, calculation_* */
  fieldType: string;
  groupName: string;
  description: string;
  options: Array<{ label: string; value: string; displayOrder: number; hidden: boolean }>;
  displayOrder: number;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  hidden: boolean;
  hubspotDefined: boolean;
  formField: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean };
}

export type PropertyInput = Partial<PropertyDefinition> & { name: string; type: string };

/** A record's state at one moment: what a write leaves behind, and what the search index holds some time later. */
export interface ObjectState {
  properties: ReadonlyMap<string, string>;
  createdAt: number;
  updatedAt: number;
  archivedAt: number | null;
}

export interface CrmObject {
  id: string;
  type: ObjectType;
  state: ObjectState;
  /** Every write, oldest first: when it becomes visible to search, and the state it left. */
  indexed: Array<{ sequence: number; visibleAt: number; state: ObjectState }>;
}

/** A change the webhook sender turns into events. */
export type ObjectChange =
  | { kind: 'creation'; type: ObjectType; id: string; at: number; source: string }
  | { kind: 'propertyChange'; type: ObjectType; id: string; at: number; source: string; name: string; value: string }
  | { kind: 'deletion'; type: ObjectType; id: string; at: number; source: string }
  | { kind: 'restore'; type: ObjectType; id: string; at: number; source: string };

/** A write's outcome per input: the object, or why it was refused (category, message, context). */
export type WriteOutcome = { ok: true; object: CrmObject } | { ok: false; category: string; message: string; context: Record<string, string[]> };

/** What HubSpot keeps itself: the API refuses a value for these. */
const readOnly = { archivable: false, readOnlyDefinition: true, readOnlyValue: true };
const option = (value: string, label: string, displayOrder: number) => ({ label, value, displayOrder, hidden: false });
const lifecycleStages = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];

/**
 * A few of HubSpot's default properties of each object (CRM Properties, "Default properties"; the types and field
 * types as the properties API reports them). Read-only ones carry `readOnlyValue`: HubSpot keeps them itself.
 */
const builtIn: Record<ObjectType, PropertyInput[]> = {
  contacts: [
    { name: 'email', label: 'Email', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
    { name: 'firstname', label: 'First Name', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
    { name: 'lastname', label: 'Last Name', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
    { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber', groupName: 'contactinformation' },
    { name: 'company', label: 'Company Name', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
    { name: 'jobtitle', label: 'Job Title', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
    { name: 'city', label: 'City', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
    {
      name: 'lifecyclestage',
      label: 'Lifecycle Stage',
      type: 'enumeration',
      fieldType: 'radio',
      groupName: 'contactinformation',
      options: lifecycleStages.map((stage, index) => option(stage, stage, index)),
    },
    // Read-only, though not calculated: hull/hull-connectors hull-hubspot test/integration/fixtures/get-contacts-groups.json
    // records it from the properties API with "readOnlyValue": true, "readOnlyDefinition": true, "calculated": false,
    // group emailinformation, options "true"/"false".
    {
      name: 'hs_email_optout',
      label: 'Unsubscribed from all email',
      type: 'bool',
      fieldType: 'booleancheckbox',
      groupName: 'emailinformation',
      options: [option('true', 'True', 0), option('false', 'False', 1)],
      modificationMetadata: readOnly,
    },
    { name: 'hubspotscore', label: 'HubSpot Score', type: 'number', fieldType: 'number', groupName: 'contactinformation', calculated: true, modificationMetadata: readOnly },
    { name: 'createdate', label: 'Create Date', type: 'datetime', fieldType: 'date', groupName: 'contactinformation', modificationMetadata: readOnly },
    { name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', fieldType: 'date', groupName: 'contactinformation', modificationMetadata: readOnly },
    { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number', groupName: 'contactinformation', modificationMetadata: readOnly },
  ],
  companies: [
    { name: 'name', label: 'Company name', type: 'string', fieldType: 'text', groupName: 'companyinformation' },
    { name: 'domain', label: 'Company Domain Name', type: 'string', fieldType: 'text', groupName: 'companyinformation' },
    { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber', groupName: 'companyinformation' },
    { name: 'city', label: 'City', type: 'string', fieldType: 'text', groupName: 'companyinformation' },
    { name: 'industry', label: 'Industry', type: 'enumeration', fieldType: 'select', groupName: 'companyinformation', options: [option('COMPUTER_SOFTWARE', 'Computer Software', 0), option('RETAIL', 'Retail', 1)] },
    { name: 'numberofemployees', label: 'Number of Employees', type: 'number', fieldType: 'number', groupName: 'companyinformation' },
    { name: 'description', label: 'Description', type: 'string', fieldType: 'textarea', groupName: 'companyinformation' },
    { name: 'createdate', label: 'Create Date', type: 'datetime', fieldType: 'date', groupName: 'companyinformation', modificationMetadata: readOnly },
    { name: 'hs_lastmodifieddate', label: 'Last Modified Date', type: 'datetime', fieldType: 'date', groupName: 'companyinformation', modificationMetadata: readOnly },
    { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number', groupName: 'companyinformation', modificationMetadata: readOnly },
  ],
};

export function propertyDefinition(input: PropertyInput, hubspotDefined: boolean, displayOrder: number): PropertyDefinition {
  return {
    label: input.label ?? input.name,
    fieldType: input.fieldType ?? (input.type === 'number' ? 'number' : input.type === 'bool' ? 'booleancheckbox' : 'text'),
    groupName: input.groupName ?? 'contactinformation',
    description: input.description ?? '',
    options: input.options ?? [],
    displayOrder: input.displayOrder ?? displayOrder,
    calculated: input.calculated ?? false,
    externalOptions: input.externalOptions ?? false,
    hasUniqueValue: input.hasUniqueValue ?? false,
    hidden: input.hidden ?? false,
    hubspotDefined: input.hubspotDefined ?? hubspotDefined,
    formField: input.formField ?? true,
    modificationMetadata: input.modificationMetadata ?? { archivable: !hubspotDefined, readOnlyDefinition: hubspotDefined, readOnlyValue: false },
    name: input.name,
    type: input.type,
  };
}

/** Milliseconds → the ISO text HubSpot shows for datetimes: "2019-10-30T03:30:17.883Z". */
export const isoMillis = (ms: number): string => new Date(ms).toISOString();

export class Portal {
  readonly objects: Record<ObjectType, Map<string, CrmObject>> = { contacts: new Map(), companies: new Map() };
  readonly properties: Record<ObjectType, Map<string, PropertyDefinition>> = { contacts: new Map(), companies: new Map() };
  private readonly nextId: Record<ObjectType, number> = { contacts: 151, companies: 5001 };
  private sequence = 0;
  private readonly listeners: Array<(change: ObjectChange) => void> = [];
  /** How long after a write search sees it (ms). Settable at any time: it applies to writes from then on. */
  searchLagMs: number;

  constructor(
    readonly portalId: number,
    private readonly now: () => number,
    searchLagMs: number,
  ) {
    this.searchLagMs = searchLagMs;
    for (const type of objectTypes) builtIn[type].forEach((input, index) => this.properties[type].set(input.name, propertyDefinition(input, true, index)));
  }

  onChange(listener: (change: ObjectChange) => void): void {
    this.listeners.push(listener);
  }

  defineProperty(type: ObjectType, input: PropertyInput): PropertyDefinition {
    const definition = propertyDefinition(input, false, this.properties[type].size);
    this.properties[type].set(input.name, definition);
    return definition;
  }

  /** Live (not archived) or archived objects, by id. */
  find(type: ObjectType, id: string, archived: boolean): CrmObject | undefined {
    const object = this.objects[type].get(id);
    return object && (object.state.archivedAt !== null) === archived ? object : undefined;
  }

  /**
   * Checks property values against their definitions: unknown and read-only properties, numbers, booleans, options,
   * email addresses, dates and datetimes (dates.ts). "Read-only and non-existent properties will result in an error"
   * (OpenAPI, batch/update).
   */
  problems(type: ObjectType, values: Readonly<Record<string, unknown>>): PropertyProblem[] {
    const problems: PropertyProblem[] = [];
    for (const [name, raw] of Object.entries(values)) {
      const definition = this.properties[type].get(name);
      if (!definition) {
        problems.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
        continue;
      }
      if (definition.modificationMetadata.readOnlyValue || definition.calculated) {
        // UNCONFIRMED wording.
        problems.push({ name, error: 'READ_ONLY_VALUE', message: `"${name}" is a read only property; its value cannot be set.` });
        continue;
      }
      const value = textOf(raw);
      if (value === null || value === '') continue;
      if (definition.type === 'number' && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) {
        // Error handling's example detail: {"message":"discount was not a valid number","code":"INVALID_INTEGER"}.
        problems.push({ name, error: 'INVALID_INTEGER', message: `${value} was not a valid number` });
      } else if (definition.type === 'bool' && value !== 'true' && value !== 'false') {
        problems.push({ name, error: 'INVALID_BOOLEAN', message: `${value} was not a valid boolean` }); // UNCONFIRMED
      } else if (definition.type === 'enumeration' && definition.fieldType !== 'checkbox' && !definition.options.some((choice) => choice.value === value)) {
        problems.push({ name, error: 'INVALID_OPTION', message: `${value} was not one of the allowed options: [${definition.options.map((choice) => choice.value).join(', ')}]` }); // UNCONFIRMED
      } else if (type === 'contacts' && name === 'email' && !/^[^\s@"<>]+@[^\s@"<>]+\.[^\s@"<>]+$/.test(value)) {
        problems.push({ name, error: 'INVALID_EMAIL', message: `Email address ${value} is invalid` }); // UNCONFIRMED
      } else if (definition.type === 'date' || definition.type === 'datetime') {
        const stored = storedTime(definition.type, name, value);
        if ('problem' in stored) problems.push(stored.problem);
      }
    }
    return problems;
  }

  /**
   * Creates one object, or says why not. A contact's email is unique: a second contact with an address already taken
   * is refused with CONFLICT "Contact already exists. Existing ID: …" (hubspot-api-php#59).
   */
  create(type: ObjectType, values: Readonly<Record<string, unknown>>, source: string, pendingEmails: ReadonlySet<string> = new Set()): WriteOutcome | { ok: false; problems: PropertyProblem[] } {
    const problems = this.problems(type, values);
    if (problems.length > 0) return { ok: false, problems };
    const email = type === 'contacts' ? textOf(values.email)?.trim().toLowerCase() : undefined;
    if (email) {
      const existing = this.findContactByEmail(email);
      if (existing) return { ok: false, category: 'CONFLICT', message: contactExistsMessage(existing.id), context: { existingId: [existing.id] } };
      if (pendingEmails.has(email)) return { ok: false, category: 'CONFLICT', message: 'Contact already exists in this batch', context: {} }; // UNCONFIRMED
    }
    const id = String(this.nextId[type]++);
    const now = this.now();
    const properties = new Map<string, string>();
    for (const [name, raw] of Object.entries(values)) {
      const value = this.normalized(type, name, textOf(raw));
      if (value !== null) properties.set(name, value);
    }
    const object: CrmObject = { id, type, state: this.stamped(type, id, properties, now, now, null), indexed: [] };
    this.objects[type].set(id, object);
    this.index(object);
    this.emit({ kind: 'creation', type, id, at: now, source });
    for (const [name, value] of properties) this.emit({ kind: 'propertyChange', type, id, at: now, source, name, value });
    return { ok: true, object };
  }

  /**
   * Updates a live object's properties: "Provided property values will be overwritten… Properties values can be
   * cleared by passing an empty string" (OpenAPI, batch/update). Every update moves the last-modified date, changed
   * values or not (UNCONFIRMED: HubSpot's behaviour for a write of equal values; the issue that asked for this
   * connector reports real last-modified dates rewritten by identical writes). A contact's email stays unique, as on
   * create ({@link emailTakenBy}); an API write moves a lifecycle stage forward only ({@link keepsStage}).
   */
  update(type: ObjectType, id: string, values: Readonly<Record<string, unknown>>, source: string): WriteOutcome | { ok: false; problems: PropertyProblem[] } {
    const object = this.find(type, id, false);
    if (!object) return { ok: false, category: 'OBJECT_NOT_FOUND', message: 'not found', context: { ids: [id] } };
    const problems = this.problems(type, values);
    if (problems.length > 0) return { ok: false, problems };
    const holder = this.emailTakenBy(type, id, values);
    if (holder) return { ok: false, category: 'CONFLICT', message: contactExistsMessage(holder), context: { existingId: [holder] } };
    const now = Math.max(this.now(), object.state.updatedAt);
    const properties = new Map(object.state.properties);
    const changed: Array<[string, string]> = [];
    for (const [name, raw] of Object.entries(values)) {
      const value = this.normalized(type, name, textOf(raw));
      if (source === 'API' && this.keepsStage(type, name, object.state.properties.get(name) ?? null, value)) continue;
      if (value === null) properties.delete(name);
      else properties.set(name, value);
      if ((object.state.properties.get(name) ?? null) !== value) changed.push([name, value ?? '']);
    }
    object.state = this.stamped(type, id, properties, object.state.createdAt, now, null);
    this.index(object);
    for (const [name, value] of changed) this.emit({ kind: 'propertyChange', type, id, at: now, source, name, value });
    return { ok: true, object };
  }

  /**
   * Archives a live object: "Archived contacts can be restored within 90 days of deletion" (OpenAPI, batch/archive).
   * The object keeps its last-modified date; `archivedAt` says when (OpenAPI `SimplePublicObject`). UNCONFIRMED:
   * whether HubSpot also moves updatedAt on archive.
   */
  archive(type: ObjectType, id: string, source: string): boolean {
    const object = this.find(type, id, false);
    if (!object) return false;
    const now = this.now();
    object.state = { ...object.state, archivedAt: now };
    this.index(object);
    this.emit({ kind: 'deletion', type, id, at: now, source });
    return true;
  }

  /** Restores an archived object (Restore deleted records, knowledge base), as a person does in HubSpot. */
  restore(type: ObjectType, id: string, source: string): boolean {
    const object = this.find(type, id, true);
    if (!object) return false;
    const now = this.now();
    object.state = this.stamped(type, id, new Map(object.state.properties), object.state.createdAt, now, null);
    this.index(object);
    this.emit({ kind: 'restore', type, id, at: now, source });
    return true;
  }

  /**
   * What search sees of an object now: the latest write whose indexing is done, or nothing when even its creation
   * is not indexed yet. Search, Limitations: "It may take a few moments for newly created or updated CRM objects to
   * appear in search results." Archived objects are not searchable (search lists live records only).
   */
  searchView(object: CrmObject): ObjectState | null {
    const now = this.now();
    let seen: { sequence: number; state: ObjectState } | null = null;
    for (const entry of object.indexed) if (entry.visibleAt <= now && (!seen || entry.sequence > seen.sequence)) seen = entry;
    return seen && seen.state.archivedAt === null ? seen.state : null;
  }

  /** Seeds an object as if it had been there a while: indexed at once unless said otherwise. */
  seed(type: ObjectType, values: Readonly<Record<string, unknown>>, at: { createdAt?: number; updatedAt?: number; indexed?: boolean } = {}): CrmObject {
    const id = String(this.nextId[type]++);
    const properties = new Map<string, string>();
    for (const [name, raw] of Object.entries(values)) {
      const value = this.normalized(type, name, textOf(raw));
      if (value !== null) properties.set(name, value);
    }
    const updatedAt = at.updatedAt ?? this.now();
    const object: CrmObject = { id, type, state: this.stamped(type, id, properties, at.createdAt ?? updatedAt, updatedAt, null), indexed: [] };
    this.objects[type].set(id, object);
    object.indexed.push({ sequence: ++this.sequence, visibleAt: at.indexed === false ? this.now() + this.searchLagMs : Number.NEGATIVE_INFINITY, state: object.state });
    return object;
  }

  /**
   * The id of another live contact that holds the email these values give contact `id` (or that an earlier input of
   * the same batch gives another contact: `pending`, address → id), or null.
   *
   * HubSpot keeps a contact's email unique: an update that gives a contact the address of another is refused like a
   * create. Legacy Contacts API, "Create or update a contact": "Return a 409 Conflict error response if you are trying
   * to update the email address of a record, and there is an existing record with the new email address"
   * (legacydocs.hubspot.com/docs/methods/contacts/create_or_update). UNCONFIRMED for the v3 update endpoints: the
   * CONFLICT "Contact already exists. Existing ID: …" the fake answers is the one recorded for v3 creates
   * (hubspot-api-php#59, hubspot-api-nodejs#545); none recorded for an update was found.
   */
  emailTakenBy(type: ObjectType, id: string, values: Readonly<Record<string, unknown>>, pending: ReadonlyMap<string, string> = new Map()): string | null {
    const email = type === 'contacts' ? textOf(values.email)?.trim().toLowerCase() : undefined;
    if (!email) return null;
    const holder = this.findContactByEmail(email)?.id ?? pending.get(email);
    return holder !== undefined && holder !== id ? holder : null;
  }

  /**
   * Whether an API write of `value` leaves the lifecycle stage as it is: HubSpot moves it forward only, in the order of
   * the property's options. A write of an earlier stage is answered 200 with the stage kept (the input's other values
   * are written, the last-modified date moves); clearing it ("") first, then writing the earlier stage in another
   * request, moves it back.
   * - Legacy Contacts API, "Update an existing contact by email", Property notes: "The Lifecycle stage is not designed
   *   to move backwards. If you need to set this property to an previous stage, you will first need to set the value
   *   to "" (an empty string) and then set the new Stage."
   * - integrate.hubspot.com/t/update-lifecycle-stage-using-api/1333: "I seem to get a successful 204 Response from the
   *   request, but the change was not made"; HubSpot's answer: "first set the value to "" (empty string), then (in a
   *   separate request) set the earlier lifecycle stage value".
   * - segmentio/action-destinations, hubspot/upsertContact/index.ts (v3 PATCH and batch/update): "If the stage we are
   *   trying to set is backward than the current stage, it retains the current stage and updates the timestamp"; it
   *   reads the kept stage from the answer's `properties.lifecyclestage`, clears it, then sets it.
   * UNCONFIRMED: a person's edit in HubSpot's UI is not held to this (the fake lets `personUpdate` set any stage); the
   * order of custom stages taken as the options' displayOrder.
   */
  private keepsStage(type: ObjectType, name: string, current: string | null, value: string | null): boolean {
    if (name !== 'lifecyclestage' || current === null || value === null) return false;
    const order = [...(this.properties[type].get(name)?.options ?? [])].sort((a, b) => a.displayOrder - b.displayOrder).map((choice) => choice.value);
    const [from, to] = [order.indexOf(current), order.indexOf(value)];
    return from >= 0 && to >= 0 && to < from;
  }

  private findContactByEmail(email: string): CrmObject | undefined {
    for (const object of this.objects.contacts.values()) {
      if (object.state.archivedAt === null && object.state.properties.get('email')?.toLowerCase() === email) return object;
    }
    return undefined;
  }

  /** HubSpot's own properties on every object: its id, creation and last-modified dates. */
  private stamped(type: ObjectType, id: string, properties: Map<string, string>, createdAt: number, updatedAt: number, archivedAt: number | null): ObjectState {
    properties.set('hs_object_id', id);
    properties.set('createdate', isoMillis(createdAt));
    properties.set(modifiedProperty[type], isoMillis(updatedAt));
    return { properties, createdAt, updatedAt, archivedAt };
  }

  /**
   * Values as HubSpot keeps them: text; an empty string clears the property; a datetime, given as ISO 8601 in any zone
   * or as epoch milliseconds, reads back in UTC with milliseconds and "Z", a date as YYYY-MM-DD (dates.ts). A value
   * `problems` would refuse reaches here only by `seed`, and is kept as given.
   */
  private normalized(type: ObjectType, name: string, value: string | null): string | null {
    if (value === null || value === '') return null;
    const definition = this.properties[type].get(name);
    if (definition?.type !== 'date' && definition?.type !== 'datetime') return value;
    const stored = storedTime(definition.type, name, value);
    return 'value' in stored ? stored.value : value;
  }

  private index(object: CrmObject): void {
    object.indexed.push({ sequence: ++this.sequence, visibleAt: this.now() + this.searchLagMs, state: object.state });
  }

  private emit(change: ObjectChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** A property value as text: JSON numbers and booleans are taken as their text, as the API does. */
export function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
