/**
 * Members as a flow sees them, and what a write sends. Pure: no requests here.
 *
 * A record is one member of the audience: its key is the subscriber hash ("the MD5 hash of the lowercase version of the
 * list member's email address", the `id` Mailchimp gives it), its version `last_changed`; its fields are
 * `email_address`, `status` (subscribed, unsubscribed, cleaned, pending, transactional, archived), `merge_fields`
 * (one nested field per merge tag, `merge_fields.FNAME`) and `tags` (the tag names, sorted). An archived member — the
 * result of Mailchimp's DELETE, and of "Archive" in its web app — reads as deleted, with status archived.
 */
import { createHash } from 'node:crypto';
import { utcMillis } from '../../../nodes/dates';
import type { FlowRecord } from '../../../nodes/types';
import type { FieldDescription, SourceRecord } from '../types';
import type { MergeField, MergeFieldCatalog } from './mergeFields';
import { isoVersion } from '../timestamps';

/** The subscriber hash: Mailchimp's key for a member, derived from the address alone. */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex');
}

/** A record id as Mailchimp's members have them: 32 lower-case hex characters. Anything else names no member. */
export function isSubscriberHash(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

/** What `PATCH` and `PUT` take as `status` (the enums of "Update list member" and "Add or update list member"). */
const patchStatuses = ['subscribed', 'unsubscribed', 'cleaned', 'pending'];
const putStatuses = [...patchStatuses, 'transactional'];

/** Identity and bookkeeping: never fields (SPEC §3). */
export const memberBookkeeping: Readonly<Record<string, string>> = {
  id: "the member's subscriber hash, Mailchimp's key (derived from email_address)",
  last_changed: "the member's change time, kept by Mailchimp",
};

export const memberFieldDescriptions: readonly FieldDescription[] = [
  { name: 'email_address', type: 'string', nullable: false },
  { name: 'status', type: 'string', nullable: false },
  { name: 'tags', type: 'array', nullable: false },
];

/** A member of a listing or a read as a record, or null for something that is not one. `tags` replaces the ≤ 50 listed. */
export function memberRecord(member: Record<string, unknown>, tags?: readonly string[]): SourceRecord | null {
  const email = typeof member.email_address === 'string' ? member.email_address : null;
  const id = typeof member.id === 'string' && isSubscriberHash(member.id) ? member.id : email ? subscriberHash(email) : null;
  if (id === null || email === null) return null;
  const status = typeof member.status === 'string' ? member.status : null;
  const fields: FlowRecord = {
    email_address: email,
    status,
    merge_fields: readMergeFields(member.merge_fields),
    tags: tags ? [...tags].sort() : readTagNames(member.tags),
  };
  return { id, version: isoVersion(member.last_changed), tag: null, deleted: status === 'archived', fields };
}

/** Whether the member has more tags than a member's JSON lists ("Returns up to 50 tags applied to this member"). */
export function hasUnlistedTags(member: Record<string, unknown>): boolean {
  return typeof member.tags_count === 'number' && Array.isArray(member.tags) && member.tags_count > member.tags.length;
}

/** Merge field values as a flow reads them: Mailchimp's empty value "" is null, so "no value" reads one way. */
function readMergeFields(value: unknown): FlowRecord {
  const fields: FlowRecord = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fields;
  for (const [tag, held] of Object.entries(value as Record<string, unknown>)) fields[tag] = held === '' || held === undefined ? null : (held as FlowRecord[string]);
  return fields;
}

/** Tag names, sorted: tags are a set, and their order never counts as a change. */
export function readTagNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return [...new Set(value.map((tag) => (typeof tag === 'string' ? tag : (tag as { name?: unknown } | null)?.name)).filter((name): name is string => typeof name === 'string'))].sort();
}

/** The request body of one member write, and the tags it sets; or why these fields cannot be written. */
export type MemberWrite =
  | {
      /** PUT or PATCH body; null when only tags change. */
      body: Record<string, unknown> | null;
      /** Tags to turn on and off; null when the write carries no tags. */
      tags: { active: string[]; inactive: string[] } | null;
    }
  | { error: string };

/**
 * Builds a create (`PUT`, the documented upsert) or an update (`PATCH`, which merges `merge_fields` key by key, so a
 * partial object is sent as it comes). `current` is the member as last read, for the tags to turn off and for address
 * merge fields, which Mailchimp takes only whole.
 */
export function memberWrite(
  fields: FlowRecord,
  mode: { kind: 'create'; statusIfNew: string } | { kind: 'update'; id: string; current: SourceRecord | null },
  catalog: MergeFieldCatalog,
): MemberWrite {
  const body: Record<string, unknown> = {};
  let tags: string[] | null = null;
  for (const [name, value] of Object.entries(fields)) {
    const bookkeeping = memberBookkeeping[name];
    if (bookkeeping !== undefined) return { error: `${name} is ${bookkeeping}: it cannot be written as a field` };
    switch (name) {
      case 'email_address': {
        if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(value.trim())) return { error: `email_address must be an email address, got ${preview(value)}` };
        if (mode.kind === 'update' && subscriberHash(value) !== mode.id) {
          return {
            error: `email_address: changing a member's address to ${value.trim()} would make it another record — its key is the MD5 hash of the address (subscriber_hash) — so the sync does not write it; change the address in Mailchimp, or let email_address flow only out of Mailchimp`,
          };
        }
        body.email_address = value.trim();
        break;
      }
      case 'status': {
        if (value === 'archived') return { error: 'status: a member is archived by deleting it (a delete archives in Mailchimp), not by writing status "archived"' };
        const allowed = mode.kind === 'create' ? putStatuses : patchStatuses;
        if (typeof value !== 'string' || !allowed.includes(value)) return { error: `status must be one of ${allowed.join(', ')}, got ${preview(value)}` };
        body.status = value;
        break;
      }
      case 'merge_fields': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: `merge_fields must be an object of merge tags, e.g. {"FNAME": "Ada"}, got ${preview(value)}` };
        const merged: Record<string, unknown> = {};
        for (const [tag, held] of Object.entries(value as Record<string, unknown>)) {
          const field = catalog.byTag.get(tag);
          if (!field) return { error: `merge_fields.${tag} is not a merge field of this audience; its merge fields are ${catalog.known()}` };
          const written = mergeValue(field, held, mode.kind === 'update' ? mode.current?.fields.merge_fields : undefined);
          if (written instanceof MergeValueError) return { error: written.message };
          merged[tag] = written;
        }
        if (Object.keys(merged).length > 0) body.merge_fields = merged;
        break;
      }
      case 'tags': {
        const names = tagNames(value);
        if (names === null) return { error: `tags must be a list of tag names, got ${preview(value)}` };
        tags = names;
        break;
      }
      default:
        return { error: `${name} is not a field of Mailchimp members; the fields are email_address, status, tags and merge_fields.<TAG> (${catalog.known()})` };
    }
  }
  if (mode.kind === 'create') {
    if (typeof body.email_address !== 'string') return { error: 'email_address is required to create a Mailchimp member: it is what the member is keyed by' };
    // "Add or update list member": status_if_new for a new member, `status` only when the flow gives one, so an
    // existing member's status is changed only on purpose.
    body.status_if_new = typeof body.status === 'string' ? body.status : mode.statusIfNew;
  }
  let tagChanges: { active: string[]; inactive: string[] } | null = null;
  if (tags !== null) {
    const wanted = new Set(tags);
    const held = mode.kind === 'update' ? readTagNames(mode.current?.fields.tags) : [];
    tagChanges = { active: [...wanted].filter((tag) => !held.includes(tag)), inactive: held.filter((tag) => !wanted.has(tag)) };
  }
  const hasBody = Object.keys(body).length > 0;
  return { body: hasBody || mode.kind === 'create' ? body : null, tags: tagChanges };
}

class MergeValueError {
  constructor(readonly message: string) {}
}

/** A merge field value as Mailchimp takes it: "" for no value, numbers for number fields, whole addresses. */
function mergeValue(field: MergeField, value: unknown, current: unknown): unknown {
  const { type, tag } = field;
  if (value === null) return '';
  if (type === 'birthday') return birthdayValue(field, value);
  if (type === 'date') return dateValue(field, value);
  if (type === 'number') {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    return new MergeValueError(`merge_fields.${tag} is a number field, got ${preview(value)}`);
  }
  if (type === 'address') {
    if (typeof value !== 'object' || Array.isArray(value)) return new MergeValueError(`merge_fields.${tag} is an address: an object with addr1, city, state and zip, got ${preview(value)}`);
    // An address goes whole: the leaves that changed over what the member holds.
    const held = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[tag] : undefined;
    return { ...(typeof held === 'object' && held !== null ? (held as Record<string, unknown>) : {}), ...(value as Record<string, unknown>) };
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return new MergeValueError(`merge_fields.${tag} must be text, got ${preview(value)}`);
}

/**
 * A birthday holds a month and a day, in the field's `date_format`; anything else Mailchimp refuses with "Please enter
 * a month (01-12) and a day (01-31)" (recorded in public Mailchimp integrations' logs), failing every field of the write.
 */
function birthdayValue(field: MergeField, value: unknown): string | MergeValueError {
  const format = field.dateFormat === 'DD/MM' ? 'DD/MM' : 'MM/DD';
  const text = typeof value === 'string' ? value.trim() : '';
  const match = /^(\d{2})\/(\d{2})$/.exec(text);
  const [month, day] = match ? (format === 'MM/DD' ? [Number(match[1]), Number(match[2])] : [Number(match[2]), Number(match[1])]) : [0, 0];
  if (month >= 1 && month <= 12 && day >= 1 && day <= 31) return text;
  return new MergeValueError(
    `merge_fields.${field.tag} is a birthday field, which holds a month and a day as ${format}, got ${preview(value)}: Mailchimp keeps no year, so map a full date one way, toward Mailchimp, through a transform { "op": "dateFormat", "from": "YYYY-MM-DD", "to": "${format}" }`,
  );
}

/**
 * A date merge field holds a calendar date, which Mailchimp answers as YYYY-MM-DD whatever the field's `date_format`
 * (a field of format MM/DD/YYYY written "1980-12-21" reads back so in grouparoo's recorded Mailchimp traffic) and takes
 * as YYYY-MM-DD without a doubt. Slashed text it reads by the field's format, so 03/04/2024 is 4 March in one audience
 * and 3 April in another, and it comes back as YYYY-MM-DD, unlike what was written: a difference every pass. So the
 * connector writes YYYY-MM-DD only, and refuses anything else for that record before Mailchimp refuses it ("Please
 * enter the date", failing every field of the write) or reads it by a format the other system does not use.
 */
function dateValue(field: MergeField, value: unknown): string | MergeValueError {
  const text = typeof value === 'string' ? value.trim() : '';
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match && utcMillis(Number(match[1]), Number(match[2]), Number(match[3]), 0, 0, 0, 0) !== null) return text;
  const format = field.dateFormat ?? 'MM/DD/YYYY';
  return new MergeValueError(
    `merge_fields.${field.tag} is a date field, got ${preview(value)}: the sync writes dates to Mailchimp as YYYY-MM-DD, the one form Mailchimp reads the same whatever the field's format (${format} here) and answers with, so that a date comes back as written; for dates held in another form, convert them on Mailchimp's side of the mapping with a transform { "op": "dateFormat", "field": "merge_fields.${field.tag}", "from": "${format}", "to": "YYYY-MM-DD" } ("from" the other system's form; from and to the other way round where the flow runs out of Mailchimp)`,
  );
}

function tagNames(value: unknown): string[] | null {
  if (value === null) return [];
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' || typeof tag === 'number')) return null;
  return [...new Set(value.map((tag) => String(tag).trim()).filter((tag) => tag !== ''))];
}

export function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}
