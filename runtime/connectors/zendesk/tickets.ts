/**
 * The `tickets` collection: Zendesk Support tickets (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/).
 *
 * - Read through the cursor-based incremental ticket export; soft-deleted tickets come in it with status "deleted"
 *   and are listed as deletes. The requester's email is looked up with Show Many Users, a hundred at a time.
 * - Every write goes inside Zendesk's `{"ticket": {…}}` envelope: an update without it answers 200 and changes
 *   nothing. Updates are conditional with `safe_update` + `updated_stamp` (409 when the ticket moved on).
 * - `description` is the ticket's first comment: sent on create, and refused on update (Zendesk cannot change it).
 * - A delete is Zendesk's delete: the ticket goes to Deleted tickets (restorable for 30 days) and leaves the API.
 * - Drop-down, multi-select and checkbox fields are tags in Zendesk (ticketFields.ts): `tags` is read without theirs,
 *   and an update that writes `tags` reads the ticket first, to write back the tags its fields hold.
 * - Zendesk never sets a ticket back to new, nor takes its priority away (ticketRules.ts): an update asking for either
 *   reads the ticket first, and is refused when the ticket has left new or has a priority.
 * - No tag is stored on the ticket (`tags: false`): tags are visible to agents and drive triggers, views and SLAs,
 *   so the sync's own writes are recognised by the write journal's hash instead (SPEC §6).
 */
import type { FlowRecord } from '../../../nodes/types';
import type { CollectionDescription, Connector, ConnectorCapabilities, ListPage, ListPosition, SourceRecord, Version, WriteOp, WriteResult } from '../types';
import { ChangeFeed } from '../saas/changeFeed';
import { ConnectorError } from '../types';
import { errorText, isClosedTicketError, type ZendeskClient, type ZendeskResponse } from './client';
import type { ZendeskConnection } from './config';
import { readCursorExport, versionSeconds, zendeskLookbackMs } from './incremental';
import { preview, text, ticketFieldDescriptions, describeZendesk } from './shape';
import { nextPage, TicketFieldCatalog } from './ticketFields';
import { mayBreakTicketRule, ticketRuleRefusal } from './ticketRules';
import { idValue, readTags, refused, writeEach, writeTags, zendeskId } from './writes';
import { isoSeconds, isoVersion } from '../timestamps';

/** Show Many Tickets and Show Many Users take up to 100 ids. */
const idsPerRequest = 100;
/** Pages of Deleted tickets looked through for ids that Show Many did not return (most recently deleted first). */
const deletedTicketPages = 10;

/** Identity and bookkeeping: never fields (SPEC §3). */
const ticketBookkeeping: Record<string, string> = { id: "the ticket's id, Zendesk's key", updated_at: "the ticket's change time, kept by Zendesk", created_at: "the ticket's creation time, kept by Zendesk" };

export class ZendeskTickets implements Connector {
  readonly capabilities: ConnectorCapabilities = {
    conditionalWrites: true,
    tags: false,
    incremental: true,
    // Deletes come through the export (status "deleted"), so no scan of every id is needed.
    fullScan: false,
    deletes: 'remove',
    lookbackMs: zendeskLookbackMs,
  };
  private readonly listing: ChangeFeed;
  private catalogLoad: Promise<TicketFieldCatalog> | null = null;

  constructor(
    private readonly client: ZendeskClient,
    private readonly connection: ZendeskConnection,
    private readonly perPage: number,
    private readonly onClose: () => void,
  ) {
    this.listing = new ChangeFeed({ lookbackMs: zendeskLookbackMs, changedSince: (since) => this.changedSince(since) });
  }

  listSince(position: ListPosition, limit: number): Promise<ListPage> {
    return this.listing.listSince(position, limit);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    const wanted = [...new Set(ids.filter((id) => zendeskId(id) !== null))];
    if (wanted.length === 0) return found;
    const catalog = await this.catalog();
    const tickets: Array<Record<string, unknown>> = [];
    for (let index = 0; index < wanted.length; index += idsPerRequest) {
      const body = await this.client.getJson(this.client.url('/api/v2/tickets/show_many.json', { ids: wanted.slice(index, index + idsPerRequest).join(',') }));
      if (Array.isArray(body.tickets)) tickets.push(...(body.tickets as Array<Record<string, unknown>>));
    }
    const emails = await this.requesterEmails(tickets);
    const asked = new Set(wanted);
    for (const ticket of tickets) {
      const record = this.toRecord(ticket, catalog, emails);
      if (record && asked.has(record.id)) found.set(record.id, record);
    }
    const missing = wanted.filter((id) => !found.has(id));
    if (missing.length > 0) for (const record of await this.deletedTickets(missing, catalog)) found.set(record.id, record);
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    if (ops.length === 0) return [];
    const now = () => this.client.now();
    let catalog: TicketFieldCatalog;
    try {
      catalog = await this.catalog();
    } catch (caught) {
      // Nothing was written: every op fails as the catalog's read did.
      return writeEach(ops, () => Promise.reject(caught), now);
    }
    return writeEach(ops, (op) => this.writeOne(op, catalog), now);
  }

  // eslint-disable-next-line require-yield
  async *scanIds(): AsyncIterable<string[]> {
    throw new ConnectorError('zendesk tickets are not scanned for deletes: deleted tickets come through the incremental export');
  }

  async describe(): Promise<CollectionDescription[]> {
    return describeZendesk(await this.catalog());
  }

  async close(): Promise<void> {
    this.onClose();
  }

  private catalog(): Promise<TicketFieldCatalog> {
    this.catalogLoad ??= TicketFieldCatalog.load(this.client, this.connection).catch((error: unknown) => {
      this.catalogLoad = null;
      throw error;
    });
    return this.catalogLoad;
  }

  private async *changedSince(since: Date | null): AsyncIterable<SourceRecord[]> {
    const catalog = await this.catalog();
    const floor = since === null ? null : Math.floor(since.getTime() / 1000);
    for await (const tickets of readCursorExport(this.client, { path: '/api/v2/incremental/tickets/cursor.json', key: 'tickets', perPage: this.perPage }, since)) {
      const emails = await this.requesterEmails(tickets);
      const records: SourceRecord[] = [];
      for (const ticket of tickets) {
        const record = this.toRecord(ticket, catalog, emails);
        // The export orders by generated_timestamp, which also moves for Zendesk's own bookkeeping: a live ticket
        // whose updated_at is older than the window changed nothing a flow reads.
        if (!record || (!record.deleted && floor !== null && (versionSeconds(record.version) ?? floor) < floor)) continue;
        records.push(record);
      }
      yield records;
    }
  }

  private toRecord(ticket: Record<string, unknown>, catalog: TicketFieldCatalog, emails: ReadonlyMap<number, string | null>): SourceRecord | null {
    if (typeof ticket.id !== 'number') return null;
    const deleted = ticket.status === 'deleted';
    let version = isoVersion(ticket.updated_at);
    if (deleted && typeof ticket.generated_timestamp === 'number') {
      // A deletion moves generated_timestamp; it is the time of the delete wherever updated_at stays behind.
      const generated = isoSeconds(ticket.generated_timestamp * 1000);
      if (version === null || generated > version) version = generated;
    }
    const fields: FlowRecord = {
      subject: text(ticket.subject) ?? '',
      description: text(ticket.description) ?? '',
      status: text(ticket.status),
      priority: text(ticket.priority),
      type: text(ticket.type),
      tags: catalog.ownTags(ticket.tags),
      assignee_id: idValue(ticket.assignee_id) ?? null,
      group_id: idValue(ticket.group_id) ?? null,
      organization_id: idValue(ticket.organization_id) ?? null,
      external_id: text(ticket.external_id),
      due_at: text(ticket.due_at),
      requester_email: typeof ticket.requester_id === 'number' ? (emails.get(ticket.requester_id) ?? null) : null,
    };
    const values = new Map<number, unknown>();
    if (Array.isArray(ticket.custom_fields)) for (const entry of ticket.custom_fields as Array<{ id?: unknown; value?: unknown }>) if (typeof entry?.id === 'number') values.set(entry.id, entry.value);
    for (const field of catalog.byId.values()) fields[field.name] = catalog.read(field, values.get(field.id));
    return { id: String(ticket.id), version, tag: null, deleted, fields };
  }

  /** The requesters' emails, by user id: Show Many Users, a hundred ids a request, never one request per ticket. */
  private async requesterEmails(tickets: ReadonlyArray<Record<string, unknown>>): Promise<Map<number, string | null>> {
    const ids = [...new Set(tickets.map((ticket) => ticket.requester_id).filter((id): id is number => typeof id === 'number'))];
    const emails = new Map<number, string | null>();
    for (let index = 0; index < ids.length; index += idsPerRequest) {
      const body = await this.client.getJson(this.client.url('/api/v2/users/show_many.json', { ids: ids.slice(index, index + idsPerRequest).join(',') }));
      if (!Array.isArray(body.users)) continue;
      for (const user of body.users as Array<Record<string, unknown>>) if (typeof user.id === 'number') emails.set(user.id, text(user.email));
    }
    return emails;
  }

  /**
   * Tickets that Show Many did not return may be soft-deleted: Zendesk keeps them in Deleted tickets for 30 days,
   * with their subject and deletion time only. They read as deleted, with the other fields null; a flow never reads
   * the fields of a deleted record.
   */
  private async deletedTickets(ids: readonly string[], catalog: TicketFieldCatalog): Promise<SourceRecord[]> {
    const missing = new Set(ids);
    const records: SourceRecord[] = [];
    let url: URL | null = this.client.url('/api/v2/deleted_tickets.json', { sort_by: 'deleted_at', sort_order: 'desc' });
    for (let page = 0; url && page < deletedTicketPages && missing.size > 0; page++) {
      const body = await this.client.getJson(url);
      for (const entry of Array.isArray(body.deleted_tickets) ? (body.deleted_tickets as Array<Record<string, unknown>>) : []) {
        const id = typeof entry.id === 'number' ? String(entry.id) : null;
        if (id === null || !missing.has(id)) continue;
        missing.delete(id);
        const fields: FlowRecord = { tags: [] };
        for (const field of ticketFieldDescriptions) if (field.name !== 'tags') fields[field.name] = null;
        for (const field of catalog.byId.values()) fields[field.name] = null;
        fields.subject = text(entry.subject) ?? '';
        fields.status = 'deleted';
        records.push({ id, version: isoVersion(entry.deleted_at), tag: null, deleted: true, fields });
      }
      url = nextPage(this.client, body);
    }
    return records;
  }

  private async writeOne(op: WriteOp, catalog: TicketFieldCatalog): Promise<WriteResult> {
    if (op.kind === 'create') return this.create(op.fields, catalog);
    const id = zendeskId(op.id);
    if (id === null) return { ok: false, reason: 'missing' };
    if (op.kind === 'update') return this.update(id, op.fields, op.expectedVersion, catalog);
    if (op.expectedVersion !== null) {
      // Zendesk's delete takes no updated_stamp: the version is compared just before. A change in the instant
      // between the two requests is not caught.
      const current = await this.currentTicket(id, op.expectedVersion);
      if ('result' in current) return current.result;
    }
    const response = await this.client.request('DELETE', this.client.url(`/api/v2/tickets/${id}.json`));
    if (response.status === 204 || response.status === 200) return { ok: true, id: op.id, version: null };
    return this.writeFailure(response, `ticket ${id}`);
  }

  private async create(fields: FlowRecord, catalog: TicketFieldCatalog): Promise<WriteResult> {
    const built = ticketInput(fields, 'create', catalog);
    if ('error' in built) return refused(built.error);
    const input = built.input;
    if (Array.isArray(input.tags)) input.tags = catalog.tagsToWrite(input.tags as string[], [], customFieldsOf(input));
    const response = await this.client.request('POST', this.client.url('/api/v2/tickets.json'), { ticket: input });
    if (response.status === 201 || response.status === 200) return this.written(response);
    return this.writeFailure(response, 'create');
  }

  private async update(id: number, fields: FlowRecord, expectedVersion: Version | null, catalog: TicketFieldCatalog): Promise<WriteResult> {
    const built = ticketInput(fields, 'update', catalog);
    if ('error' in built) return refused(built.error);
    const input = built.input;
    // "Protecting against ticket update collisions": with safe_update, Zendesk answers 409 when updated_stamp is not
    // the ticket's updated_at any more.
    let stamp = expectedVersion === null ? null : (versionSeconds(expectedVersion) ?? 0);
    const carryFieldTags = Array.isArray(input.tags) && catalog.hasFieldTags;
    if (carryFieldTags || mayBreakTicketRule(input)) {
      // `tags` replaces the ticket's whole list, and a drop-down's, multi-select's or checkbox's tag leaving it clears
      // that field: the tags the fields hold now are read and written back. Status new and no priority depend on what
      // the ticket holds now (ticketRules.ts). Stamped with the version read, so a field changed in between is not set
      // back, nor a ticket that left new meanwhile written new.
      const current = await this.currentTicket(id, expectedVersion);
      if ('result' in current) return current.result;
      const refusal = ticketRuleRefusal(id, input, current.ticket);
      if (refusal !== null) return refused(refusal);
      stamp ??= versionSeconds(current.ticket.updated_at);
      if (carryFieldTags) input.tags = catalog.tagsToWrite(input.tags as string[], readTags(current.ticket.tags), customFieldsOf(input));
    }
    if (stamp !== null) {
      input.safe_update = true;
      input.updated_stamp = isoSeconds(stamp * 1000);
    }
    const response = await this.client.request('PUT', this.client.url(`/api/v2/tickets/${id}.json`), { ticket: input });
    if (response.status === 200) return this.written(response);
    return this.writeFailure(response, `ticket ${id}`);
  }

  /** The ticket as Zendesk has it now, or the result that ends the write: it is gone, unreadable, or moved on from `expectedVersion`. */
  private async currentTicket(id: number, expectedVersion: Version | null): Promise<{ ticket: Record<string, unknown> } | { result: WriteResult }> {
    const current = await this.client.request('GET', this.client.url(`/api/v2/tickets/${id}.json`));
    if (current.status !== 200) return { result: this.writeFailure(current, `ticket ${id}`) };
    const ticket = (current.body as { ticket?: Record<string, unknown> } | null)?.ticket ?? {};
    if (expectedVersion !== null && versionSeconds(ticket.updated_at) !== versionSeconds(expectedVersion)) return { result: { ok: false, reason: 'changed' } };
    return { ticket };
  }

  private written(response: ZendeskResponse): WriteResult {
    const ticket = (response.body as { ticket?: { id?: unknown; updated_at?: unknown } } | null)?.ticket;
    if (typeof ticket?.id !== 'number') {
      return { ok: false, reason: 'failed', message: `${response.shown}: ${response.status} without the ticket in the answer`, retryable: false };
    }
    return { ok: true, id: String(ticket.id), version: isoVersion(ticket.updated_at) };
  }

  private writeFailure(response: ZendeskResponse, what: string): WriteResult {
    if (response.status === 404 && what !== 'create') return { ok: false, reason: 'missing' };
    if (response.status === 409) return { ok: false, reason: 'changed' };
    if (isClosedTicketError(response)) {
      return refused(`${response.shown}: ${what} is closed, and Zendesk never changes a closed ticket (a follow-up ticket is its way on) — ${errorText(response)}`);
    }
    const failure = this.client.failure(response, response.status === 403 ? 'Zendesk does not let this user do that' : '');
    // A POST that failed on Zendesk's side (a 5xx) may have made the ticket: not repeated, so there is never a second
    // one, and journaled by the engine for the next pass to adopt.
    const post = response.method === 'POST';
    return { ok: false, reason: 'failed', message: failure.message, retryable: failure.retryable && !post, ...(post && response.status >= 500 ? { mayHaveApplied: true } : {}) };
  }
}

/** The custom fields a ticket input writes, as ticketInput builds them. */
function customFieldsOf(input: Record<string, unknown>): Array<{ id: number; value: unknown }> {
  return Array.isArray(input.custom_fields) ? (input.custom_fields as Array<{ id: number; value: unknown }>) : [];
}

/** The `ticket` object of a create or update, or why these fields cannot be written. */
export function ticketInput(fields: FlowRecord, mode: 'create' | 'update', catalog: TicketFieldCatalog): { input: Record<string, unknown> } | { error: string } {
  const input: Record<string, unknown> = {};
  const custom: Array<{ id: number; value: unknown }> = [];
  let description: string | null = null;
  for (const [name, value] of Object.entries(fields)) {
    const bookkeeping = ticketBookkeeping[name];
    if (bookkeeping !== undefined) return { error: `${name} is ${bookkeeping}: it cannot be written as a field` };
    switch (name) {
      case 'subject':
      case 'external_id':
      case 'due_at':
      case 'status':
      case 'priority':
      case 'type': {
        if (value !== null && typeof value !== 'string' && !(name === 'external_id' && typeof value === 'number')) return { error: `${name} must be text or null, got ${preview(value)}` };
        input[name] = name === 'subject' ? (value ?? '') : value === null ? null : String(value);
        break;
      }
      case 'description':
        if (mode === 'update') {
          return {
            error:
              "description: Zendesk keeps a ticket's description as its first comment, which cannot be changed once the ticket exists; let description flow only out of Zendesk (a mapping direction away from this trigger), or leave it out of what is written here",
          };
        }
        if (value !== null && typeof value !== 'string') return { error: `description must be text, got ${preview(value)}` };
        description = value;
        break;
      case 'tags': {
        const tags = writeTags(value);
        if (tags === undefined) return { error: `tags must be a list of words, got ${preview(value)}` };
        input.tags = tags;
        break;
      }
      case 'assignee_id':
      case 'group_id':
      case 'organization_id': {
        const id = idValue(value);
        if (id === undefined) return { error: `${name} must be a Zendesk id (a whole number) or null, got ${preview(value)}` };
        input[name] = id;
        break;
      }
      case 'requester_email': {
        if (value === null) {
          if (mode === 'update') return { error: 'requester_email: every Zendesk ticket has a requester; it can be changed, not removed' };
          break;
        }
        if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(value.trim())) return { error: `requester_email must be an email address, got ${preview(value)}` };
        const email = value.trim();
        // "Creating a ticket with a new requester": Zendesk finds the user by email, or creates an end user with this name.
        input.requester = { email, name: email.slice(0, email.indexOf('@')) };
        break;
      }
      default: {
        const field = catalog.byName.get(name);
        if (!field) {
          const known = [...ticketFieldDescriptions.map((description) => description.name), ...catalog.byName.keys()];
          return { error: `${name} is not a field of Zendesk tickets; the fields are ${known.join(', ')}` };
        }
        custom.push({ id: field.id, value });
      }
    }
  }
  // Only the custom fields being written, each {id, value}: Zendesk leaves the others as they are.
  if (custom.length > 0) input.custom_fields = custom;
  if (mode === 'create') {
    // A ticket needs a first comment. Without a description the subject serves, as it would in an email without a body.
    const body = description !== null && description.trim() !== '' ? description : typeof input.subject === 'string' && input.subject.trim() !== '' ? input.subject : null;
    if (body === null) return { error: 'a Zendesk ticket needs a description (its first comment) or at least a subject to be created' };
    input.comment = { body };
  }
  return { input };
}
