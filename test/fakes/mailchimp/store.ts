/**
 * The state of the Mailchimp fake: audiences (lists), their merge fields, members, tags and webhooks, and the clock
 * every timestamp comes from. Shapes follow Mailchimp's OpenAPI description (spec/marketing.json of
 * mailchimp/mailchimp-client-lib-codegen, read as split by api-evangelist/mailchimp: "List Members" under
 * `GET /lists/{list_id}/members`, "Merge Field" under `/lists/{list_id}/merge-fields`, "List Webhooks") and the API
 * reference pages named beside each rule. SOURCES.md lists them all.
 */
import { createHash, randomBytes } from 'node:crypto';
import { forgottenEmailNotSubscribed, invalidMergeFields, invalidResource, memberExists, memberInComplianceState, resourceNotFound, type FieldError } from './problems';

/** "The MD5 hash of the lowercase version of the list member's email address" (subscriber_hash, every member path). */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

/** Member statuses ("List Members" › `status` enum). */
export const memberStatuses = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional', 'archived'] as const;
export type MemberStatus = (typeof memberStatuses)[number];
/** What PUT takes as `status`/`status_if_new` (its enum has no `archived`: archiving is DELETE). */
export const writableStatuses = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'] as const;

/** Merge field types ("Merge Field" › `type` enum). */
export const mergeFieldTypes = ['text', 'number', 'address', 'phone', 'date', 'url', 'imageurl', 'radio', 'dropdown', 'birthday', 'zip'] as const;
export type MergeFieldType = (typeof mergeFieldTypes)[number];

export interface MergeFieldRecord {
  mergeId: number;
  tag: string;
  name: string;
  type: MergeFieldType;
  required: boolean;
  defaultValue: string;
  public: boolean;
  displayOrder: number;
  options: Record<string, unknown>;
  helpText: string;
}

export interface MemberRecord {
  id: string;
  emailAddress: string;
  uniqueEmailId: string;
  contactId: string;
  webId: number;
  emailType: 'html' | 'text';
  status: MemberStatus;
  /** Who unsubscribed a member whose status is unsubscribed: only the person's own opt-out binds the API. */
  unsubscribedBy: ChangeSource | null;
  unsubscribeReason: string | null;
  mergeFields: Record<string, unknown>;
  language: string;
  vip: boolean;
  ipSignup: string;
  timestampSignup: number | null;
  ipOpt: string;
  timestampOpt: number | null;
  /** ms; whole seconds, as every Mailchimp timestamp is. */
  lastChanged: number;
  source: string;
  tags: Array<{ id: number; name: string }>;
}

export interface WebhookRecord {
  id: string;
  url: string;
  events: Record<'subscribe' | 'unsubscribe' | 'profile' | 'cleaned' | 'upemail' | 'campaign', boolean>;
  sources: Record<'user' | 'admin' | 'api', boolean>;
}

export interface ListRecord {
  id: string;
  webId: number;
  name: string;
  dateCreated: number;
  mergeFields: MergeFieldRecord[];
  members: Map<string, MemberRecord>;
  webhooks: Map<string, WebhookRecord>;
  /** Tag names of the audience and their ids ("Tags" › `id`). */
  tagIds: Map<string, number>;
  /** Subscriber hashes of the addresses deleted with actions/delete-permanent: none may be added again but by the person. */
  forgotten: Set<string>;
}

/** Who made a change, as a webhook's `sources` tells them apart ("List Webhooks" › `sources`: user, admin, api). */
export type ChangeSource = 'user' | 'admin' | 'api';

/** A change the webhooks may report (List Webhooks › `events`). */
export type MemberEvent =
  | { type: 'subscribe' | 'unsubscribe' | 'profile' | 'cleaned'; list: ListRecord; member: MemberRecord; source: ChangeSource; action?: 'unsub' | 'delete'; reason?: string }
  | { type: 'upemail'; list: ListRecord; member: MemberRecord; oldEmail: string; source: ChangeSource };

/** The fake's time: manual (moves only when a test sets or advances it) or real (follows the wall clock from a start). */
export class FakeClock {
  private base: number;
  private readonly startedAt = Date.now();

  constructor(
    start: number,
    private readonly mode: 'manual' | 'real',
  ) {
    this.base = Math.floor(start / 1000) * 1000;
  }

  nowMs(): number {
    return this.base + (this.mode === 'real' ? Date.now() - this.startedAt : 0);
  }

  /** Whole seconds, as Mailchimp's timestamps are. */
  nowSecondMs(): number {
    return Math.floor(this.nowMs() / 1000) * 1000;
  }

  set(time: Date | number): void {
    this.base = new Date(time).getTime() - (this.mode === 'real' ? Date.now() - this.startedAt : 0);
  }

  advance(seconds: number): void {
    this.base += seconds * 1000;
  }
}

/** Mailchimp's timestamp format, "2015-10-21T15:41:36+00:00" (every date-time example of the API reference). */
export function mailchimpTime(ms: number | null): string {
  if (ms === null) return '';
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, '+00:00');
}

/** The default audience fields every new audience gets ("Merge fields": FNAME, LNAME, ADDRESS, PHONE, BIRTHDAY). */
function defaultMergeFields(): MergeFieldRecord[] {
  const field = (mergeId: number, tag: string, name: string, type: MergeFieldType): MergeFieldRecord => ({
    mergeId,
    tag,
    name,
    type,
    required: false,
    defaultValue: '',
    public: true,
    displayOrder: mergeId + 1,
    options: type === 'address' ? { default_country: 164 } : type === 'phone' ? { phone_format: 'none' } : type === 'birthday' ? { date_format: 'MM/DD' } : { size: 25 },
    helpText: '',
  });
  return [field(1, 'FNAME', 'First Name', 'text'), field(2, 'LNAME', 'Last Name', 'text'), field(3, 'ADDRESS', 'Address', 'address'), field(4, 'PHONE', 'Phone Number', 'phone'), field(5, 'BIRTHDAY', 'Birthday', 'birthday')];
}

/**
 * A merge field added without options: a date field as "MM/DD/YYYY", the format of the date field in grouparoo/grouparoo's
 * recorded `GET /lists/{list_id}/merge-fields` (`JOINED_AT`, fixtures export/destinationMappingOptions.js); a birthday
 * as "MM/DD", the default audience's. UNCONFIRMED: that these are Mailchimp's defaults rather than what those fields
 * were given.
 */
function defaultOptions(type: MergeFieldType): Record<string, unknown> {
  return type === 'date' ? { date_format: 'MM/DD/YYYY' } : type === 'birthday' ? { date_format: 'MM/DD' } : {};
}

const emailPattern = /^[^\s@"<>(),;:]+@[^\s@"<>(),;:]+\.[^\s@"<>(),;:]+$/;

/** Everything the fake holds, and the rules that change it. */
export class MailchimpAccount {
  readonly lists = new Map<string, ListRecord>();
  private nextWebId = 100001;
  private nextTagId = 10001;
  private readonly listeners: Array<(event: MemberEvent) => void> = [];

  constructor(readonly clock: FakeClock) {}

  onMemberEvent(listener: (event: MemberEvent) => void): void {
    this.listeners.push(listener);
  }

  private quiet = 0;

  private emit(event: MemberEvent): void {
    if (this.quiet > 0) return;
    for (const listener of this.listeners) listener(event);
  }

  /** Runs `change` without telling the webhooks: for seeding history a test starts from. */
  quietly<T>(change: () => T): T {
    this.quiet++;
    try {
      return change();
    } finally {
      this.quiet--;
    }
  }

  createList(name: string, id = randomBytes(5).toString('hex')): ListRecord {
    const list: ListRecord = { id, webId: this.nextWebId++, name, dateCreated: this.clock.nowSecondMs(), mergeFields: defaultMergeFields(), members: new Map(), webhooks: new Map(), tagIds: new Map(), forgotten: new Set() };
    this.lists.set(id, list);
    return list;
  }

  list(id: string): ListRecord {
    const list = this.lists.get(id);
    if (!list) throw resourceNotFound();
    return list;
  }

  addMergeField(list: ListRecord, input: { tag: string; name?: string; type: MergeFieldType; required?: boolean; options?: Record<string, unknown> }): MergeFieldRecord {
    const mergeId = Math.max(0, ...list.mergeFields.map((field) => field.mergeId)) + 1;
    const field: MergeFieldRecord = {
      mergeId,
      tag: input.tag,
      name: input.name ?? input.tag,
      type: input.type,
      required: input.required ?? false,
      defaultValue: '',
      public: true,
      displayOrder: mergeId + 1,
      options: input.options ?? defaultOptions(input.type),
      helpText: '',
    };
    list.mergeFields.push(field);
    for (const member of list.members.values()) member.mergeFields[field.tag] ??= '';
    return field;
  }

  /**
   * The member a path names: "The MD5 hash of the lowercase version of the list member's email address. This endpoint
   * also accepts a list member's email address or contact_id" (every `{subscriber_hash}` parameter).
   */
  findMember(list: ListRecord, pathId: string): MemberRecord | null {
    const decoded = pathId.includes('@') ? subscriberHash(pathId) : pathId.toLowerCase();
    const direct = list.members.get(decoded);
    if (direct) return direct;
    for (const member of list.members.values()) if (member.contactId === pathId) return member;
    return null;
  }

  /**
   * Creates a member ("Add member to list" / the create half of "Add or update list member"): the id is always the
   * subscriber hash of the address; merge fields the audience requires must be given.
   */
  createMember(list: ListRecord, input: MemberInput, source: ChangeSource, options: { skipMergeValidation?: boolean } = {}): MemberRecord {
    const email = typeof input.email_address === 'string' ? input.email_address.trim() : '';
    if (email === '') throw invalidResource([{ field: 'email_address', message: 'This value should not be blank.' }]);
    // UNCONFIRMED wording: "Please provide a valid email address." as community reports quote it.
    if (!emailPattern.test(email)) throw invalidResource([{ field: 'email_address', message: 'Please provide a valid email address.' }], 'Please provide a valid email address.');
    const id = subscriberHash(email);
    if (list.members.has(id)) throw memberExists(email);
    // Permanently deleted, the address comes back only when the person signs up again (forgottenEmailNotSubscribed's
    // recordings: a POST or PUT as pending is refused too). UNCONFIRMED: that every other status is refused alike.
    if (list.forgotten.has(id)) {
      if (source !== 'user') throw forgottenEmailNotSubscribed(email);
      list.forgotten.delete(id);
    }
    const status = checkedStatus(input.status ?? input.status_if_new, 'status');
    const mergeFields = this.mergedFields(list, {}, input.merge_fields, options.skipMergeValidation !== true);
    const now = this.clock.nowSecondMs();
    const member: MemberRecord = {
      id,
      emailAddress: email,
      uniqueEmailId: randomBytes(5).toString('hex'),
      contactId: randomBytes(16).toString('hex'),
      webId: this.nextWebId++,
      emailType: input.email_type === 'text' ? 'text' : 'html',
      status,
      unsubscribedBy: status === 'unsubscribed' ? source : null,
      unsubscribeReason: status === 'unsubscribed' ? 'N/A (Unsubscribed by an admin)' : null,
      mergeFields,
      language: typeof input.language === 'string' ? input.language : '',
      vip: input.vip === true,
      ipSignup: '',
      timestampSignup: null,
      ipOpt: status === 'subscribed' ? '203.0.113.10' : '',
      timestampOpt: status === 'subscribed' ? now : null,
      lastChanged: now,
      source: source === 'api' ? 'API - Generic' : source === 'admin' ? 'Admin Add' : 'Hosted Signup Form',
      tags: [],
    };
    if (Array.isArray(input.tags)) this.applyTags(list, member, input.tags.map((name) => ({ name: String(name), status: 'active' as const })));
    list.members.set(id, member);
    if (status === 'subscribed') this.emit({ type: 'subscribe', list, member, source });
    return member;
  }

  /**
   * Changes a member ("Update list member", PATCH): only what is given changes; `merge_fields` is merged key by key
   * into the member's, so the other merge fields keep their values. A changed `email_address` moves the member to the
   * hash of the new address (its id is always the hash of its address) and fires `upemail`.
   */
  updateMember(list: ListRecord, member: MemberRecord, input: MemberInput, source: ChangeSource, options: { skipMergeValidation?: boolean } = {}): MemberRecord {
    const events: MemberEvent[] = [];
    let oldEmail: string | null = null;
    if (typeof input.email_address === 'string' && input.email_address.trim().toLowerCase() !== member.emailAddress.toLowerCase()) {
      const email = input.email_address.trim();
      if (!emailPattern.test(email)) throw invalidResource([{ field: 'email_address', message: 'Please provide a valid email address.' }], 'Please provide a valid email address.');
      const other = list.members.get(subscriberHash(email));
      // Recorded in brandonseydel/MailChimp.Net issue #201: changing an address to one already on the audience.
      if (other) throw invalidResource([{ field: 'email_address', message: `"${email}" is already in this list with a status of "${other.status}".` }]);
      oldEmail = member.emailAddress;
    }
    let status = member.status;
    if (input.status !== undefined) {
      status = checkedStatus(input.status, 'status');
      if (inComplianceState(member, status)) throw memberInComplianceState(member.emailAddress);
    } else if (member.status === 'archived' && input.status_if_new !== undefined) {
      // "Add or update list member" on an archived contact adds it back (UNCONFIRMED: that status_if_new applies then).
      status = checkedStatus(input.status_if_new, 'status_if_new');
    }
    const mergeFields = input.merge_fields === undefined ? member.mergeFields : this.mergedFields(list, member.mergeFields, input.merge_fields, options.skipMergeValidation !== true);

    // Validated: apply.
    if (oldEmail !== null) {
      list.members.delete(member.id);
      member.emailAddress = (input.email_address as string).trim();
      member.id = subscriberHash(member.emailAddress);
      list.members.set(member.id, member);
      events.push({ type: 'upemail', list, member, oldEmail, source });
    } else if (typeof input.email_address === 'string') {
      member.emailAddress = input.email_address.trim();
    }
    const statusChanged = status !== member.status;
    const wasArchived = member.status === 'archived';
    member.status = status;
    if (statusChanged) {
      member.unsubscribedBy = status === 'unsubscribed' ? source : null;
      member.unsubscribeReason = status === 'unsubscribed' ? 'N/A (Unsubscribed by an admin)' : null;
      if (status === 'subscribed') {
        member.timestampOpt = this.clock.nowSecondMs();
        events.push({ type: 'subscribe', list, member, source });
      } else if (status === 'unsubscribed') {
        events.push({ type: 'unsubscribe', list, member, source, action: 'unsub', reason: 'manual' });
      } else if (status === 'cleaned') {
        events.push({ type: 'cleaned', list, member, source, reason: 'hard' });
      }
    }
    const fieldsChanged = JSON.stringify(mergeFields) !== JSON.stringify(member.mergeFields);
    member.mergeFields = mergeFields;
    if (typeof input.language === 'string') member.language = input.language;
    if (typeof input.vip === 'boolean') member.vip = input.vip;
    if (input.email_type === 'html' || input.email_type === 'text') member.emailType = input.email_type;
    // Every accepted write moves last_changed, changed or not (UNCONFIRMED: Mailchimp documents no exception).
    member.lastChanged = this.clock.nowSecondMs();
    if (fieldsChanged && !statusChanged && oldEmail === null && !wasArchived) events.push({ type: 'profile', list, member, source });
    for (const event of events) this.emit(event);
    return member;
  }

  /**
   * "Add or remove member tags": each `{name, status}` is added (active; a new name creates the tag) or removed
   * (inactive). UNCONFIRMED: that this moves last_changed; the fake assumes it does, as any change to a member does.
   */
  updateTags(list: ListRecord, member: MemberRecord, tags: Array<{ name: string; status: 'active' | 'inactive' }>): void {
    this.applyTags(list, member, tags);
    member.lastChanged = this.clock.nowSecondMs();
  }

  private applyTags(list: ListRecord, member: MemberRecord, tags: Array<{ name: string; status: 'active' | 'inactive' }>): void {
    for (const { name, status } of tags) {
      const index = member.tags.findIndex((tag) => tag.name === name);
      if (status === 'inactive') {
        if (index >= 0) member.tags.splice(index, 1);
        continue;
      }
      if (index >= 0) continue;
      let id = list.tagIds.get(name);
      if (id === undefined) {
        id = this.nextTagId++;
        list.tagIds.set(name, id);
      }
      member.tags.push({ id, name });
    }
  }

  /** "Archive list member" (DELETE): the member stays, with status archived (the API reference's summary). */
  archiveMember(list: ListRecord, member: MemberRecord, source: ChangeSource): void {
    member.status = 'archived';
    member.lastChanged = this.clock.nowSecondMs();
    this.emit({ type: 'unsubscribe', list, member, source, action: 'delete', reason: 'manual' });
  }

  /** "Delete list member" (actions/delete-permanent): gone for good, and its address may not be added again. */
  deletePermanently(list: ListRecord, member: MemberRecord): void {
    list.members.delete(member.id);
    list.forgotten.add(member.id);
  }

  /** A campaign bounced hard for the address: its status becomes cleaned and the `cleaned` webhook fires. */
  clean(list: ListRecord, member: MemberRecord): void {
    member.status = 'cleaned';
    member.lastChanged = this.clock.nowSecondMs();
    this.emit({ type: 'cleaned', list, member, source: 'admin', reason: 'hard' });
  }

  /** Merge field values after a write: given keys replace, others stay; required ones must hold a value. */
  private mergedFields(list: ListRecord, current: Record<string, unknown>, given: unknown, enforceRequired: boolean): Record<string, unknown> {
    if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
      throw invalidResource([{ field: 'merge_fields', message: 'Data presented is not one of the accepted types: object.' }]);
    }
    const next: Record<string, unknown> = {};
    for (const field of list.mergeFields) next[field.tag] = current[field.tag] ?? '';
    const errors: FieldError[] = [];
    for (const [tag, value] of Object.entries((given ?? {}) as Record<string, unknown>)) {
      const field = list.mergeFields.find((candidate) => candidate.tag === tag);
      // Merge tags the audience does not have are ignored (UNCONFIRMED: Mailchimp's reference says nothing of them).
      if (!field) continue;
      const problem = mergeValueProblem(field, value);
      if (problem) errors.push({ field: tag, message: problem });
      else next[tag] = keptMergeValue(field, value);
    }
    if (enforceRequired) for (const field of list.mergeFields) if (field.required && (next[field.tag] === '' || next[field.tag] === null)) errors.push({ field: field.tag, message: 'Please enter a value' });
    if (errors.length > 0) throw invalidMergeFields(errors);
    return next;
  }
}

/** What a member write may carry ("Add List Members" body schema). */
export interface MemberInput {
  email_address?: unknown;
  status?: unknown;
  status_if_new?: unknown;
  email_type?: unknown;
  merge_fields?: unknown;
  language?: unknown;
  vip?: unknown;
  tags?: unknown;
}

/**
 * Whether Mailchimp refuses to give `member` the status `wanted` (Member In Compliance State):
 * - one who unsubscribed themselves cannot be subscribed by anyone else (ibericode/mailchimp-for-wordpress #798,
 *   Setono/SyliusMailchimpPlugin #90), while one the API unsubscribed can (grouparoo's exportRecord.js: PUT
 *   {status: "unsubscribed"}, then PUT {status: "subscribed"}, both 200). Setting such a member `pending`, which has
 *   Mailchimp ask them to confirm, is accepted: beabee-communityrm/monorepo PR #106 and forem/forem PR #6256 rely on it
 *   (UNCONFIRMED by a recorded answer).
 * - a cleaned address has bounced: the API subscribes it neither way (UNCONFIRMED for pending).
 */
function inComplianceState(member: MemberRecord, wanted: MemberStatus): boolean {
  if (member.status === 'cleaned') return wanted === 'subscribed' || wanted === 'pending';
  return member.status === 'unsubscribed' && member.unsubscribedBy === 'user' && wanted === 'subscribed';
}

function checkedStatus(value: unknown, field: string): Exclude<MemberStatus, 'archived'> {
  if (typeof value === 'string' && (writableStatuses as readonly string[]).includes(value)) return value as Exclude<MemberStatus, 'archived'>;
  // UNCONFIRMED wording of the enum message.
  throw invalidResource([{ field, message: `Value must be one of: ${writableStatuses.join(', ')}` }]);
}

/** Why a merge field cannot hold a value ("Merge fields": value types per field type), or null. UNCONFIRMED: the wording. */
function mergeValueProblem(field: MergeFieldRecord, value: unknown): string | null {
  if (value === '' || value === null) return null;
  switch (field.type) {
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return null;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return null;
      return 'Please enter a number';
    case 'address': {
      if (typeof value !== 'object' || Array.isArray(value)) return 'Please enter a complete address';
      const address = value as Record<string, unknown>;
      // "Merge fields" › address: addr1, city, state and zip are required.
      for (const key of ['addr1', 'city', 'state', 'zip']) if (typeof address[key] !== 'string' || address[key] === '') return 'Please enter a complete address';
      return null;
    }
    case 'birthday': {
      // A month and a day in the field's date_format; anything else: "Please enter a month (01-12) and a day (01-31)",
      // as recorded in public integrations' logs of the 400 "Your merge fields were invalid." (its errors[] entry for
      // BIRTHDAY when a full date was sent).
      const match = typeof value === 'string' ? /^(\d{2})\/(\d{2})$/.exec(value) : null;
      const dayFirst = field.options.date_format === 'DD/MM';
      const [month, day] = match ? (dayFirst ? [Number(match[2]), Number(match[1])] : [Number(match[1]), Number(match[2])]) : [0, 0];
      return month >= 1 && month <= 12 && day >= 1 && day <= 31 ? null : 'Please enter a month (01-12) and a day (01-31)';
    }
    case 'date':
      // As recorded in ibericode/mailchimp-for-wordpress #662: a POST whose date fields held no date (CDATE
      // "DecDec/MonMon/2019201920192019") answered 400 "Invalid Resource", "Your merge fields were invalid.", errors
      // [{"field":"CDATE","message":"Please enter the date"}, …] — every field of the write refused with it.
      return mailchimpDate(field, value) === null ? 'Please enter the date' : null;
    default:
      return typeof value === 'string' ? null : 'Please enter a value';
  }
}

/** A valid value as Mailchimp keeps it: numbers for number fields, a date as YYYY-MM-DD; the rest as given. */
function keptMergeValue(field: MergeFieldRecord, value: unknown): unknown {
  if (value === '' || value === null) return value;
  if (field.type === 'number' && typeof value === 'string' && value.trim() !== '') return Number(value);
  if (field.type === 'date') return mailchimpDate(field, value);
  return value;
}

/**
 * A date merge field's value as Mailchimp keeps and answers it, YYYY-MM-DD, or null for a value that is no date.
 * - YYYY-MM-DD is taken and answered as sent, whatever the field's `date_format`: recorded in grouparoo/grouparoo's
 *   nock fixtures (export/exportRecord.js, November 2021), a PUT of JOINED_AT "1980-12-21" to a date field whose
 *   date_format is "MM/DD/YYYY" answered 200 with "1980-12-21", and every later GET the same;
 *   ibericode/mailchimp-for-wordpress sends every date field as Y-m-d since its fix of #662 ("Mailchimp expects a
 *   Y-m-d format no matter the display preference", includes/class-field-formatter.php).
 * - Month, day and year with slashes are read by the field's `date_format`: "MM/DD/YYYY" month first ("The expected
 *   format is: mm/dd/yyyy", single digits too, "4/15/2018": a Q&A answer, "Formatting the date type parameter for
 *   mergefields in the Mailchimp API"; verygoodplugins/wp-fusion-lite sends m/d/Y), "DD/MM/YYYY" day first
 *   (wpninjas/ninja-forms #1748: a date of 30 January sent month first to a d/m/Y field "gets lost because there is no
 *   30th Month"; the same for birthdays in solspace/craft-freeform #2615). The old help page "Format List Fields":
 *   "MailChimp will attempt to convert the date field to match the account's default date format". UNCONFIRMED: that
 *   such a value is then answered as YYYY-MM-DD (it is how Mailchimp answers the recorded one), and how other forms
 *   fare (the fake takes none).
 * - A day that is not in the calendar (2024-02-30) is no date. UNCONFIRMED.
 */
function mailchimpDate(field: MergeFieldRecord, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (iso) return calendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const slashed = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value.trim());
  if (!slashed) return null;
  const [first, second, year] = [Number(slashed[1]), Number(slashed[2]), Number(slashed[3])];
  return field.options.date_format === 'DD/MM/YYYY' ? calendarDate(year, second, first) : calendarDate(year, first, second);
}

function calendarDate(year: number, month: number, day: number): string | null {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A member as the API shows it ("List Members" schema of `GET /lists/{list_id}/members/{subscriber_hash}`). */
export function memberJson(list: ListRecord, member: MemberRecord, baseUrl: string): Record<string, unknown> {
  const self = `${baseUrl}/3.0/lists/${list.id}/members/${member.id}`;
  const names = [member.mergeFields.FNAME, member.mergeFields.LNAME].filter((part) => typeof part === 'string' && part !== '');
  return {
    id: member.id,
    email_address: member.emailAddress,
    unique_email_id: member.uniqueEmailId,
    contact_id: member.contactId,
    full_name: names.join(' '),
    web_id: member.webId,
    email_type: member.emailType,
    status: member.status,
    ...(member.unsubscribeReason ? { unsubscribe_reason: member.unsubscribeReason } : {}),
    consents_to_one_to_one_messaging: true,
    merge_fields: structuredClone(member.mergeFields),
    stats: { avg_open_rate: 0, avg_click_rate: 0 },
    ip_signup: member.ipSignup,
    timestamp_signup: mailchimpTime(member.timestampSignup),
    ip_opt: member.ipOpt,
    timestamp_opt: mailchimpTime(member.timestampOpt),
    member_rating: 2,
    last_changed: mailchimpTime(member.lastChanged),
    language: member.language,
    vip: member.vip,
    email_client: '',
    location: { latitude: 0, longitude: 0, gmtoff: 0, dstoff: 0, country_code: '', timezone: '', region: '' },
    source: member.source,
    tags_count: member.tags.length,
    // "Returns up to 50 tags applied to this member. To retrieve all tags see Member Tags."
    tags: member.tags.slice(0, 50).map((tag) => ({ id: tag.id, name: tag.name })),
    list_id: list.id,
    _links: [
      { rel: 'self', href: self, method: 'GET', targetSchema: `${baseUrl}/schema/3.0/Definitions/Lists/Members/Response.json` },
      { rel: 'parent', href: `${baseUrl}/3.0/lists/${list.id}/members`, method: 'GET', targetSchema: `${baseUrl}/schema/3.0/Definitions/Lists/Members/CollectionResponse.json` },
      { rel: 'update', href: self, method: 'PATCH', targetSchema: `${baseUrl}/schema/3.0/Definitions/Lists/Members/Response.json` },
      { rel: 'upsert', href: self, method: 'PUT', targetSchema: `${baseUrl}/schema/3.0/Definitions/Lists/Members/Response.json` },
      { rel: 'delete', href: self, method: 'DELETE' },
    ],
  };
}

/** A merge field as `GET /lists/{list_id}/merge-fields` lists it ("Merge Field" schema). */
export function mergeFieldJson(list: ListRecord, field: MergeFieldRecord): Record<string, unknown> {
  return {
    merge_id: field.mergeId,
    tag: field.tag,
    name: field.name,
    type: field.type,
    required: field.required,
    default_value: field.defaultValue,
    public: field.public,
    display_order: field.displayOrder,
    options: field.options,
    help_text: field.helpText,
    list_id: list.id,
  };
}

/** An audience as `GET /lists` lists it ("Subscriber List" schema, the fields a client needs and a few more). */
export function listJson(list: ListRecord, baseUrl: string): Record<string, unknown> {
  const members = [...list.members.values()];
  const count = (status: MemberStatus) => members.filter((member) => member.status === status).length;
  return {
    id: list.id,
    web_id: list.webId,
    name: list.name,
    date_created: mailchimpTime(list.dateCreated),
    list_rating: 0,
    email_type_option: false,
    visibility: 'prv',
    double_optin: false,
    marketing_permissions: false,
    stats: {
      member_count: count('subscribed'),
      unsubscribe_count: count('unsubscribed'),
      cleaned_count: count('cleaned'),
      merge_field_count: list.mergeFields.length,
    },
    _links: [{ rel: 'self', href: `${baseUrl}/3.0/lists/${list.id}`, method: 'GET', targetSchema: `${baseUrl}/schema/3.0/Definitions/Lists/Response.json` }],
  };
}

/** A webhook as `/lists/{list_id}/webhooks` shows it ("List Webhooks" schema). */
export function webhookJson(list: ListRecord, webhook: WebhookRecord, baseUrl: string): Record<string, unknown> {
  return {
    id: webhook.id,
    url: webhook.url,
    events: { ...webhook.events },
    sources: { ...webhook.sources },
    list_id: list.id,
    _links: [{ rel: 'self', href: `${baseUrl}/3.0/lists/${list.id}/webhooks/${webhook.id}`, method: 'GET' }],
  };
}
