/**
 * The account's custom ticket fields (List Ticket Fields, https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/):
 * what a flow calls each one — the name `connection.customFields` gives it, else `custom_fields.<id>` — and how its
 * values read. Zendesk hands text-like values back as strings ("42.5" for a decimal field), so numbers, checkboxes
 * and multi-selects are read as what they are, or every decimal would differ from the number written to it.
 *
 * Drop-downs, multi-selects and checkboxes are kept by Zendesk as tags on the ticket: each option's `value` is a tag
 * ("the "Title" and "Tag" text boxes in the admin interface", Update Ticket Field), a checkbox may have a `tag`, and
 * the field and its tags follow each other both ways ("Understanding tags and ticket fields", support article
 * 4408881943194). Those tags are the fields' values, not the ticket's own tags: they are kept out of the `tags` a flow
 * reads, and every write of `tags`, which replaces the whole list, carries them on.
 */
import { ConnectorError, type FieldDescription } from '../types';
import type { ZendeskClient } from './client';
import type { ZendeskConnection } from './config';
import { readTags } from './writes';

export interface CustomTicketField {
  id: number;
  /** The flow's name for it. */
  name: string;
  /** Zendesk's field type: text, textarea, integer, decimal, checkbox, date, regexp, tagger (drop-down), multiselect… */
  type: string;
  title: string;
  /** The tags that stand for its values: a drop-down's or multi-select's option tags, a checkbox's tag; else none. */
  tags: readonly string[];
}

/** Pages of ticket fields followed at most; an account has a few hundred fields at most. */
const maxPages = 50;

export class TicketFieldCatalog {
  readonly byName = new Map<string, CustomTicketField>();
  readonly byId = new Map<number, CustomTicketField>();
  /** Each tag that stands for a field's value, and that field. */
  private readonly tagFields = new Map<string, CustomTicketField>();

  private constructor(fields: CustomTicketField[]) {
    for (const field of fields) {
      this.byName.set(field.name, field);
      this.byId.set(field.id, field);
      for (const tag of field.tags) this.tagFields.set(tag, field);
    }
  }

  /** Reads the account's active custom ticket fields and checks that every configured name points at one. */
  static async load(client: ZendeskClient, connection: ZendeskConnection): Promise<TicketFieldCatalog> {
    const names = new Map([...connection.customFields].map(([name, id]) => [id, name]));
    const fields: CustomTicketField[] = [];
    let url: URL | null = client.url('/api/v2/ticket_fields.json');
    for (let page = 0; url && page < maxPages; page++) {
      const body = await client.getJson(url);
      const list = body.ticket_fields;
      if (!Array.isArray(list)) throw new ConnectorError(`GET ${url.pathname}: expected a "ticket_fields" list`);
      for (const entry of list as Array<Record<string, unknown>>) {
        // System fields (subject, status, …) are not removable; they have their own names on the record.
        if (entry.removable === false || entry.active === false || typeof entry.id !== 'number') continue;
        fields.push({ id: entry.id, name: names.get(entry.id) ?? `custom_fields.${entry.id}`, type: String(entry.type), title: String(entry.title ?? ''), tags: fieldTags(entry) });
      }
      url = nextPage(client, body);
    }
    const catalog = new TicketFieldCatalog(fields);
    for (const [name, id] of connection.customFields) {
      if (!catalog.byId.has(id)) {
        throw new ConnectorError(
          `connection.customFields.${name}: the account has no active custom ticket field ${id}; the ids are in Admin Center > Objects and rules > Tickets > Fields`,
        );
      }
    }
    return catalog;
  }

  /** A value as the flow sees it: numbers as numbers, checkboxes as booleans, multi-selects as sorted lists. */
  read(field: CustomTicketField, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    switch (field.type) {
      case 'integer':
      case 'decimal': {
        if (typeof value === 'number') return value;
        const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
        return Number.isFinite(number) ? number : value;
      }
      case 'checkbox':
        return value === true || value === 'true';
      case 'multiselect':
        return (Array.isArray(value) ? value.map(String) : [String(value)]).sort();
      default:
        return typeof value === 'string' ? value : String(value);
    }
  }

  /** Whether any field is kept as tags, so that a write of `tags` must carry the fields' tags on. */
  get hasFieldTags(): boolean {
    return this.tagFields.size > 0;
  }

  /** A ticket's own tags, as the flow reads them: sorted, without the tags that are the fields' values. */
  ownTags(value: unknown): string[] {
    return readTags(value).filter((tag) => !this.tagFields.has(tag));
  }

  /**
   * The whole tag list to write: the flow's own tags, and the fields' tags — those of `written` for the fields being
   * written now, the ticket's `current` ones for the others. A field's tag among the flow's tags is left out: in
   * Zendesk it would set that field, which only a write of the field itself should do.
   */
  tagsToWrite(ownTags: readonly string[], current: readonly string[], written: ReadonlyArray<{ id: number; value: unknown }>): string[] {
    const writing = new Map(written.map((entry) => [entry.id, entry.value]));
    const kept = current.filter((tag) => {
      const field = this.tagFields.get(tag);
      return field !== undefined && !writing.has(field.id);
    });
    const set = [...writing].flatMap(([id, value]) => {
      const field = this.byId.get(id);
      return field ? tagsOfValue(field, value) : [];
    });
    return [...new Set([...ownTags.filter((tag) => !this.tagFields.has(tag)), ...kept, ...set])];
  }

  describe(): FieldDescription[] {
    return [...this.byId.values()].map((field) => ({ name: field.name, type: describeType(field.type), nullable: field.type !== 'checkbox' }));
  }
}

/** The tags that stand for a field's values, from List Ticket Fields: options' `value`s, a checkbox's `tag`. */
function fieldTags(entry: Record<string, unknown>): string[] {
  if (entry.type === 'checkbox') return typeof entry.tag === 'string' && entry.tag !== '' ? [entry.tag] : [];
  if ((entry.type !== 'tagger' && entry.type !== 'multiselect') || !Array.isArray(entry.custom_field_options)) return [];
  return (entry.custom_field_options as Array<{ value?: unknown } | null>).map((option) => option?.value).filter((value): value is string => typeof value === 'string' && value !== '');
}

/** The tags a value written to a field puts on the ticket. */
function tagsOfValue(field: CustomTicketField, value: unknown): string[] {
  if (field.type === 'checkbox') return value === true || value === 'true' ? [...field.tags] : [];
  const values = Array.isArray(value) ? value.map(String) : value === null || value === undefined ? [] : [String(value)];
  return values.filter((tag) => field.tags.includes(tag));
}

function describeType(type: string): string {
  switch (type) {
    case 'integer':
    case 'decimal':
      return 'number';
    case 'checkbox':
      return 'boolean';
    case 'multiselect':
      return 'array';
    case 'date':
      return 'date';
    default:
      return 'string';
  }
}

/**
 * The next page of a list: offset pagination's `next_page`, or cursor pagination's `links.next` while `meta.has_more`.
 * Only on the account's own origin, so the credential never goes elsewhere.
 */
export function nextPage(client: ZendeskClient, body: Record<string, unknown>): URL | null {
  const links = body.links as { next?: unknown } | undefined;
  const meta = body.meta as { has_more?: unknown } | undefined;
  const next = typeof body.next_page === 'string' ? body.next_page : meta?.has_more === true && typeof links?.next === 'string' ? links.next : null;
  if (next === null) return null;
  try {
    const url = new URL(next);
    return url.origin === client.url('/').origin ? url : null;
  } catch {
    return null;
  }
}
