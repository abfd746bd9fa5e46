import { fieldsFollowTags, tagsFollowField, tagsOfField } from './fieldTags';
import { closedTicket, descriptionBlank, recordInvalid, recordNotFound, updateConflict } from './responses';

/**
 * The account's records — users, tickets, ticket fields — and the rules that change them. No HTTP here: the
 * server parses requests into these calls, and the control API calls them directly.
 *
 * Shapes follow the JSON format sections of https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
 * and .../users/users/, checked key by key against responses recorded from real accounts
 * (nukosuke/go-zendesk fixture/GET/ticket.json, fixture/POST/ticket.json, fixture/GET/user.json,
 * fixture/GET/ticket_field.json) and the examples in Zendesk's OpenAPI file (CursorBasedExportIncrementalTicketsResponse).
 */

export const ticketStatuses = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
export const ticketPriorities = ['urgent', 'high', 'normal', 'low'] as const;
export const ticketTypes = ['problem', 'incident', 'question', 'task'] as const;
export type TicketStatus = (typeof ticketStatuses)[number];
export type TicketPriority = (typeof ticketPriorities)[number];
export type TicketType = (typeof ticketTypes)[number];
export type UserRole = 'end-user' | 'agent' | 'admin';

export interface UserRecord {
  id: number;
  name: string;
  email: string | null;
  role: UserRole;
  externalId: string | null;
  phone: string | null;
  notes: string | null;
  details: string | null;
  organizationId: number | null;
  tags: string[];
  userFields: Record<string, unknown>;
  active: boolean;
  verified: boolean;
  suspended: boolean;
  timeZone: string;
  locale: string;
  createdAt: number;
  updatedAt: number;
  /** The identity id of the primary address (`email`), null without one. */
  emailIdentityId: number | null;
  /** Other email addresses: "On update, a secondary email is added" (Users, JSON format, `email`). */
  secondaryEmails: EmailIdentity[];
}

/** An email identity other than the primary one (User Identities, JSON format). */
export interface EmailIdentity {
  id: number;
  value: string;
  createdAt: number;
  updatedAt: number;
}

export interface CommentRecord {
  id: number;
  authorId: number;
  body: string;
  public: boolean;
  createdAt: number;
}

export interface TicketRecord {
  id: number;
  externalId: string | null;
  subject: string;
  description: string;
  status: TicketStatus;
  priority: TicketPriority | null;
  type: TicketType | null;
  requesterId: number;
  submitterId: number;
  assigneeId: number | null;
  organizationId: number | null;
  groupId: number | null;
  tags: string[];
  customFields: Map<number, unknown>;
  dueAt: string | null;
  viaChannel: string;
  comments: CommentRecord[];
  createdAt: number;
  updatedAt: number;
  /** Seconds; bumped by every change, system ones included (the incremental export's ordering key). */
  generatedTimestamp: number;
  deleted: { at: number; actorId: number; previousStatus: TicketStatus } | null;
}

export type TicketFieldType = 'text' | 'textarea' | 'checkbox' | 'date' | 'integer' | 'decimal' | 'regexp' | 'tagger' | 'multiselect';

/** A custom field as an admin makes it: options (title `name`, tag `value`) for drop-downs and multi-selects, `tag` for a checkbox. */
export interface TicketFieldInput {
  type: TicketFieldType;
  title: string;
  options?: Array<{ name: string; value: string }>;
  tag?: string;
  required?: boolean;
  active?: boolean;
}

export interface TicketFieldRecord {
  id: number;
  type: TicketFieldType | 'subject' | 'description' | 'status' | 'tickettype' | 'priority' | 'group' | 'assignee';
  title: string;
  active: boolean;
  required: boolean;
  /** Each option's `value` is its tag (fieldTags.ts). */
  options: Array<{ name: string; value: string }>;
  /** A checkbox's tag, set on the ticket while it is ticked; null for other fields and checkboxes without one. */
  tag: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What changed in one ticket write, for webhooks and the audit in the response. */
export interface TicketChange {
  kind: 'created' | 'updated' | 'soft_deleted' | 'undeleted';
  before: TicketRecord | null;
  after: TicketRecord;
  actorId: number;
  comment: CommentRecord | null;
}

/** The writable ticket properties the fake understands (the `ticket` object of a create or update body). */
export interface TicketInput {
  subject?: unknown;
  description?: unknown;
  comment?: unknown;
  status?: unknown;
  priority?: unknown;
  type?: unknown;
  requester_id?: unknown;
  requester?: unknown;
  submitter_id?: unknown;
  assignee_id?: unknown;
  organization_id?: unknown;
  group_id?: unknown;
  external_id?: unknown;
  tags?: unknown;
  custom_fields?: unknown;
  fields?: unknown;
  due_at?: unknown;
  safe_update?: unknown;
  updated_stamp?: unknown;
}

export interface UserInput {
  name?: unknown;
  email?: unknown;
  role?: unknown;
  external_id?: unknown;
  phone?: unknown;
  notes?: unknown;
  details?: unknown;
  organization_id?: unknown;
  tags?: unknown;
  user_fields?: unknown;
  verified?: unknown;
  suspended?: unknown;
}

/** Seconds since the epoch as Zendesk writes timestamps: ISO 8601, UTC, whole seconds ("2011-05-05T10:38:52Z"). */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const systemFieldTypes = ['subject', 'description', 'status', 'tickettype', 'priority', 'group', 'assignee'] as const;
const systemFieldTitles: Record<(typeof systemFieldTypes)[number], string> = {
  subject: 'Subject',
  description: 'Description',
  status: 'Status',
  tickettype: 'Type',
  priority: 'Priority',
  group: 'Group',
  assignee: 'Assignee',
};

/** One Zendesk account: its records, its id counters and the clock every timestamp is read from. */
export class ZendeskAccount {
  readonly users = new Map<number, UserRecord>();
  readonly tickets = new Map<number, TicketRecord>();
  readonly ticketFields = new Map<number, TicketFieldRecord>();
  private readonly listeners: Array<(change: TicketChange) => void> = [];
  private readonly userListeners: Array<(user: UserRecord, kind: 'created' | 'updated') => void> = [];
  private nextTicketId = 1;
  private nextUserId = 90001;
  private nextIdentityId = 70001;
  private nextFieldId = 360000001;
  private nextCommentId = 700000001;
  /** The admin the default credentials belong to. */
  readonly admin: UserRecord;
  /**
   * Admin Center › Objects and rules › Tags › "Enable tags on users and organizations". Off, users carry no `tags`
   * (Users, JSON format: "The user's tags. Only present if your account has user tagging enabled") and tags written to
   * a user are dropped (UNCONFIRMED: the Tags API says only "You must enable the tagging of users and organizations in
   * Zendesk Support for the API calls to work"; what Update User does with them is not documented).
   */
  userTagging = true;

  constructor(
    readonly baseUrl: () => string,
    readonly nowSeconds: () => number,
    adminEmail: string,
  ) {
    this.admin = this.createUser({ name: 'Fake Admin', email: adminEmail, role: 'admin', verified: true });
    for (const type of systemFieldTypes) {
      const id = this.nextFieldId++;
      this.ticketFields.set(id, { id, type, title: systemFieldTitles[type], active: true, required: type === 'subject' || type === 'description', options: [], tag: null, createdAt: this.nowSeconds(), updatedAt: this.nowSeconds() });
    }
  }

  onTicketChange(listener: (change: TicketChange) => void): void {
    this.listeners.push(listener);
  }

  onUserChange(listener: (user: UserRecord, kind: 'created' | 'updated') => void): void {
    this.userListeners.push(listener);
  }

  get descriptionFieldId(): number {
    for (const field of this.ticketFields.values()) if (field.type === 'description') return field.id;
    throw new Error('no description field');
  }

  // ---------------------------------------------------------------- users

  /** Creates a user; a taken email is a 422, as Create User answers. */
  createUser(input: UserInput, times?: { createdAt?: number; updatedAt?: number }, silent = false): UserRecord {
    const email = optionalString(input.email, 'email');
    if (email !== null && this.findUserByEmail(email)) {
      // Wording UNCONFIRMED; 422 RecordInvalid with a per-field `details` entry is the documented error shape.
      throw recordInvalid({ email: [{ description: `Email: ${email} is already being used by another user`, error: 'DuplicateValue' }] });
    }
    const name = optionalString(input.name, 'name') ?? (email ? email.split('@')[0]! : '');
    if (name === '') throw recordInvalid({ name: [{ description: 'Name: is too short (minimum is 1 character)', error: 'InvalidValue' }] });
    const now = this.nowSeconds();
    const user: UserRecord = {
      id: this.nextUserId++,
      name,
      email,
      emailIdentityId: email === null ? null : this.nextIdentityId++,
      secondaryEmails: [],
      role: parseRole(input.role) ?? 'end-user',
      externalId: optionalString(input.external_id, 'external_id'),
      phone: optionalString(input.phone, 'phone'),
      notes: optionalString(input.notes, 'notes'),
      details: optionalString(input.details, 'details'),
      organizationId: optionalNumber(input.organization_id, 'organization_id'),
      tags: this.userTagging ? (parseTags(input.tags) ?? []) : [],
      userFields: isObject(input.user_fields) ? { ...input.user_fields } : {},
      active: true,
      verified: input.verified === true,
      suspended: input.suspended === true,
      timeZone: 'Eastern Time (US & Canada)',
      locale: 'en-US',
      createdAt: times?.createdAt ?? now,
      updatedAt: times?.updatedAt ?? times?.createdAt ?? now,
    };
    this.users.set(user.id, user);
    if (!silent) for (const listener of this.userListeners) listener(user, 'created');
    return user;
  }

  /** Applies a user update; updated_at moves only when something changed. */
  updateUser(id: number, input: UserInput): UserRecord {
    const user = this.users.get(id);
    if (!user) throw recordNotFound();
    const before = JSON.stringify(user);
    if (input.name !== undefined) user.name = optionalString(input.name, 'name') ?? user.name;
    if (input.email !== undefined) {
      const email = optionalString(input.email, 'email');
      this.assertEmailFree(email, id);
      // "email: The user's primary email address. *Writeable on create only. On update, a secondary email is added."
      // (Users, JSON format). A user without an address gets it as the primary one (UNCONFIRMED); null, as before,
      // clears the primary (UNCONFIRMED).
      if (email === null || user.email === null) {
        user.email = email;
        user.emailIdentityId = email === null ? null : this.nextIdentityId++;
      } else if (!this.holdsEmail(user, email)) {
        const now = this.nowSeconds();
        user.secondaryEmails.push({ id: this.nextIdentityId++, value: email, createdAt: now, updatedAt: now });
      }
    }
    if (input.role !== undefined) user.role = parseRole(input.role) ?? user.role;
    if (input.external_id !== undefined) user.externalId = optionalString(input.external_id, 'external_id');
    if (input.phone !== undefined) user.phone = optionalString(input.phone, 'phone');
    if (input.notes !== undefined) user.notes = optionalString(input.notes, 'notes');
    if (input.details !== undefined) user.details = optionalString(input.details, 'details');
    if (input.organization_id !== undefined) user.organizationId = optionalNumber(input.organization_id, 'organization_id');
    if (input.tags !== undefined && this.userTagging) user.tags = parseTags(input.tags) ?? [];
    if (isObject(input.user_fields)) user.userFields = { ...user.userFields, ...input.user_fields };
    if (input.verified !== undefined) user.verified = input.verified === true;
    if (input.suspended !== undefined) user.suspended = input.suspended === true;
    if (JSON.stringify(user) !== before) {
      user.updatedAt = this.nowSeconds();
      for (const listener of this.userListeners) listener(user, 'updated');
    }
    return user;
  }

  /** The user holding this address, as their primary or a secondary identity: an address names one user. */
  findUserByEmail(email: string): UserRecord | undefined {
    for (const user of this.users.values()) if (this.holdsEmail(user, email)) return user;
    return undefined;
  }

  private holdsEmail(user: UserRecord, email: string): boolean {
    const wanted = email.toLowerCase();
    return user.email?.toLowerCase() === wanted || user.secondaryEmails.some((identity) => identity.value.toLowerCase() === wanted);
  }

  private assertEmailFree(email: string | null, userId: number): void {
    const holder = email === null ? undefined : this.findUserByEmail(email);
    if (holder && holder.id !== userId) {
      throw recordInvalid({ email: [{ description: `Email: ${email} is already being used by another user`, error: 'DuplicateValue' }] });
    }
  }

  // ---------------------------------------------------------------- user identities
  // https://developer.zendesk.com/api-reference/ticketing/users/user_identities/ (email identities only). "A user's
  // primary email address is controlled through the User Identities endpoints" (support article 4408885830682).

  /** List Identities: the primary address first. */
  identities(userId: number): Array<Record<string, unknown>> {
    const user = this.userOf(userId);
    const json = (id: number, value: string, primary: boolean, createdAt: number, updatedAt: number) => ({
      url: `${this.baseUrl()}/api/v2/users/${user.id}/identities/${id}.json`,
      id,
      user_id: user.id,
      type: 'email',
      value,
      verified: primary ? user.verified : false,
      primary,
      created_at: isoSeconds(createdAt),
      updated_at: isoSeconds(updatedAt),
      undeliverable_count: 0,
      deliverable_state: 'deliverable',
    });
    const primary = user.email !== null && user.emailIdentityId !== null ? [json(user.emailIdentityId, user.email, true, user.createdAt, user.updatedAt)] : [];
    return [...primary, ...user.secondaryEmails.map((identity) => json(identity.id, identity.value, false, identity.createdAt, identity.updatedAt))];
  }

  /**
   * Update Identity: "To update an existing email address, including the existing primary email address, use the
   * Update Identity endpoint" (support article 4408885830682). A new primary address moves the user's updated_at
   * (UNCONFIRMED: the user's `email` changes with it).
   */
  updateIdentity(userId: number, identityId: number, value: unknown): Record<string, unknown> {
    const user = this.userOf(userId);
    if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(value)) throw recordInvalid({ value: [{ description: `Value: ${String(value)} is not properly formatted`, error: 'InvalidValue' }] });
    this.assertEmailFree(value, userId);
    const now = this.nowSeconds();
    if (identityId === user.emailIdentityId) this.changeUser(user, () => void (user.email = value));
    else {
      const identity = user.secondaryEmails.find((candidate) => candidate.id === identityId);
      if (!identity) throw recordNotFound();
      identity.value = value;
      identity.updatedAt = now;
    }
    return this.identities(userId).find((identity) => identity.id === identityId) as Record<string, unknown>;
  }

  /** Make Identity Primary: the named identity becomes the primary address; the old primary stays, as a secondary one. */
  makeIdentityPrimary(userId: number, identityId: number): Array<Record<string, unknown>> {
    const user = this.userOf(userId);
    if (identityId !== user.emailIdentityId) {
      const index = user.secondaryEmails.findIndex((candidate) => candidate.id === identityId);
      if (index < 0) throw recordNotFound();
      const [chosen] = user.secondaryEmails.splice(index, 1) as [EmailIdentity];
      this.changeUser(user, () => {
        if (user.email !== null && user.emailIdentityId !== null) user.secondaryEmails.unshift({ id: user.emailIdentityId, value: user.email, createdAt: user.createdAt, updatedAt: this.nowSeconds() });
        user.email = chosen.value;
        user.emailIdentityId = chosen.id;
      });
    }
    return this.identities(userId);
  }

  private userOf(userId: number): UserRecord {
    const user = this.users.get(userId);
    if (!user) throw recordNotFound();
    return user;
  }

  private changeUser(user: UserRecord, change: () => void): void {
    change();
    user.updatedAt = this.nowSeconds();
    for (const listener of this.userListeners) listener(user, 'updated');
  }

  findUserByExternalId(externalId: string): UserRecord | undefined {
    // "the search for the user record is not case sensitive" — Create Or Update User, External ID Case Sensitivity.
    const wanted = externalId.toLowerCase();
    for (const user of this.users.values()) if (user.externalId?.toLowerCase() === wanted) return user;
    return undefined;
  }

  // ---------------------------------------------------------------- ticket fields

  /** Adds a custom ticket field (what an admin does in Admin Center); returns its record. */
  createTicketField(input: TicketFieldInput): TicketFieldRecord {
    const now = this.nowSeconds();
    const tag = input.type === 'checkbox' && input.tag ? input.tag : null;
    const field: TicketFieldRecord = { id: this.nextFieldId++, type: input.type, title: input.title, active: input.active ?? true, required: input.required ?? false, options: input.options ?? [], tag, createdAt: now, updatedAt: now };
    // "Tags can't be re-used across custom ticket fields" (Ticket Fields API, Create Ticket Field): a tag standing for
    // two fields' values would make the fake's coupling ambiguous, so a seed that does it is a test's mistake.
    const taken = new Set(this.customFields().flatMap(tagsOfField));
    const reused = tagsOfField(field).filter((value) => taken.has(value));
    if (reused.length > 0) throw new Error(`Zendesk fake: the tags ${reused.join(', ')} already belong to another field; tags can't be re-used across custom ticket fields`);
    this.ticketFields.set(field.id, field);
    return field;
  }

  /** Custom (non-system) fields, the ones a ticket's `custom_fields` array lists. */
  customFields(): TicketFieldRecord[] {
    return [...this.ticketFields.values()].filter((field) => !(systemFieldTypes as readonly string[]).includes(field.type) && field.active);
  }

  // ---------------------------------------------------------------- tickets

  /** Live (not soft-deleted) ticket or a 404, as Show Ticket answers. */
  liveTicket(id: number): TicketRecord {
    const ticket = this.tickets.get(id);
    // A soft-deleted ticket answers RecordNotFound to the ticket endpoints: public client code treats
    // `error === 'RecordNotFound'` as "replies to deleted tickets" (needsFollowUpTicket in a Zendesk adapter).
    if (!ticket || ticket.deleted) throw recordNotFound();
    return ticket;
  }

  /**
   * Creates a ticket as `actorId`. The first comment becomes `description` ("description: Read-only. The first
   * comment on the ticket", Tickets JSON format); without a comment or description the create is a 422.
   */
  createTicket(input: TicketInput, actorId: number, options: { times?: { createdAt?: number; updatedAt?: number }; silent?: boolean } = {}): { ticket: TicketRecord; comment: CommentRecord } {
    const body = commentBody(input.comment) ?? optionalString(input.description, 'description');
    if (body === null || body.trim() === '') throw descriptionBlank(this.descriptionFieldId);
    const now = this.nowSeconds();
    const createdAt = options.times?.createdAt ?? now;
    const updatedAt = options.times?.updatedAt ?? createdAt;
    const requesterId = this.resolveRequester(input, actorId);
    const assigneeId = this.resolveUserReference(input.assignee_id, 'assignee_id');
    const explicitStatus = parseStatus(input.status);
    const ticket: TicketRecord = {
      id: this.nextTicketId++,
      externalId: optionalString(input.external_id, 'external_id'),
      subject: optionalString(input.subject, 'subject') ?? '',
      description: body,
      // New tickets are "new" until assigned; an assigned ticket starts "open" (Tickets JSON format, `status`).
      status: explicitStatus ?? (assigneeId === null ? 'new' : 'open'),
      priority: parsePriority(input.priority) ?? null,
      type: parseType(input.type) ?? null,
      requesterId,
      submitterId: actorId,
      assigneeId,
      organizationId: optionalNumber(input.organization_id, 'organization_id') ?? this.users.get(requesterId)?.organizationId ?? null,
      groupId: optionalNumber(input.group_id, 'group_id'),
      tags: parseTags(input.tags) ?? [],
      customFields: new Map(),
      dueAt: optionalString(input.due_at, 'due_at'),
      viaChannel: 'api',
      comments: [],
      createdAt,
      updatedAt,
      generatedTimestamp: updatedAt,
      deleted: null,
    };
    fieldsFollowTags(ticket, this.customFields(), []);
    this.applyCustomFields(ticket, input.custom_fields ?? input.fields);
    const comment: CommentRecord = { id: this.nextCommentId++, authorId: commentAuthor(input.comment) ?? actorId, body, public: commentPublic(input.comment) ?? true, createdAt };
    ticket.comments.push(comment);
    this.tickets.set(ticket.id, ticket);
    if (!options.silent) this.emit({ kind: 'created', before: null, after: ticket, actorId, comment });
    return { ticket, comment };
  }

  /**
   * Updates a live ticket as `actorId`. Enforces, in Zendesk's order: closed tickets can't change (422), safe
   * updates compare `updated_stamp` to `updated_at` (409). A write that changes nothing leaves `updated_at` alone.
   */
  updateTicket(id: number, input: TicketInput, actorId: number): { ticket: TicketRecord; comment: CommentRecord | null; changed: boolean } {
    const ticket = this.liveTicket(id);
    if (ticket.status === 'closed') throw closedTicket();
    // "Protecting against ticket update collisions": safe_update with an updated_stamp that isn't the ticket's
    // current updated_at is a 409. The docs add: "A value of false has the same effect as true. Omit the property
    // to force the updates to not be safe" — so only the presence of safe_update counts, and without an
    // updated_stamp there is nothing to compare. Timestamps are whole seconds, so two writes within one second
    // carry the same updated_at and a stale stamp from that second still matches.
    if (input.safe_update !== undefined && input.updated_stamp !== undefined) {
      const stamp = Date.parse(String(input.updated_stamp));
      if (Number.isNaN(stamp) || Math.floor(stamp / 1000) !== ticket.updatedAt) throw updateConflict();
    }
    const before = cloneTicket(ticket);
    if (input.subject !== undefined) ticket.subject = optionalString(input.subject, 'subject') ?? '';
    applyStatusAndPriority(ticket, input);
    if (input.type !== undefined) ticket.type = input.type === null ? null : (parseType(input.type) ?? ticket.type);
    if (input.requester_id !== undefined || input.requester !== undefined) ticket.requesterId = this.resolveRequester(input, actorId);
    if (input.assignee_id !== undefined) {
      ticket.assigneeId = this.resolveUserReference(input.assignee_id, 'assignee_id');
      if (ticket.assigneeId !== null && ticket.status === 'new' && input.status === undefined) ticket.status = 'open';
    }
    if (input.organization_id !== undefined) ticket.organizationId = optionalNumber(input.organization_id, 'organization_id');
    if (input.group_id !== undefined) ticket.groupId = optionalNumber(input.group_id, 'group_id');
    if (input.external_id !== undefined) ticket.externalId = optionalString(input.external_id, 'external_id');
    if (input.tags !== undefined) {
      ticket.tags = parseTags(input.tags) ?? [];
      fieldsFollowTags(ticket, this.customFields(), before.tags);
    }
    if (input.due_at !== undefined) ticket.dueAt = optionalString(input.due_at, 'due_at');
    // After the tags: with both in one request the fields' values win. UNCONFIRMED, from a user's report of a tags
    // write that dropped an option's tag and did not take while the same request carried the old custom_fields
    // (facetoe/zenpy issue #330).
    this.applyCustomFields(ticket, input.custom_fields ?? input.fields);
    // `description` is read-only after creation; a value in an update is dropped.
    const body = commentBody(input.comment);
    const now = this.nowSeconds();
    const comment: CommentRecord | null =
      body === null || body.trim() === '' ? null : { id: this.nextCommentId++, authorId: commentAuthor(input.comment) ?? actorId, body, public: commentPublic(input.comment) ?? true, createdAt: now };
    if (comment) ticket.comments.push(comment);
    const changed = comment !== null || ticketFingerprint(before) !== ticketFingerprint(ticket);
    if (changed) {
      ticket.updatedAt = now;
      ticket.generatedTimestamp = now;
      this.emit({ kind: 'updated', before, after: ticket, actorId, comment });
    }
    return { ticket, comment, changed };
  }

  /** Soft-deletes: the ticket leaves the ticket endpoints, shows in deleted_tickets and exports as "deleted". */
  softDeleteTicket(id: number, actorId: number): void {
    const ticket = this.liveTicket(id);
    const before = cloneTicket(ticket);
    const now = this.nowSeconds();
    ticket.deleted = { at: now, actorId, previousStatus: ticket.status };
    ticket.updatedAt = now;
    ticket.generatedTimestamp = now;
    this.emit({ kind: 'soft_deleted', before, after: ticket, actorId, comment: null });
  }

  /** Restore Previously Deleted Ticket: back to its previous status. */
  restoreTicket(id: number, actorId: number): void {
    const ticket = this.tickets.get(id);
    if (!ticket || !ticket.deleted) throw recordNotFound();
    const before = cloneTicket(ticket);
    ticket.deleted = null;
    const now = this.nowSeconds();
    ticket.updatedAt = now;
    ticket.generatedTimestamp = now;
    this.emit({ kind: 'undeleted', before, after: ticket, actorId, comment: null });
  }

  private emit(change: TicketChange): void {
    for (const listener of this.listeners) listener({ ...change, after: cloneTicket(change.after) });
  }

  private resolveRequester(input: TicketInput, actorId: number): number {
    // "Creating a ticket with a new requester": requester {name, email} finds the user by email or creates an
    // end user — https://developer.zendesk.com/documentation/ticketing/managing-tickets/creating-and-updating-tickets/
    if (isObject(input.requester)) {
      const email = optionalString(input.requester.email, 'requester.email');
      const existing = email === null ? undefined : this.findUserByEmail(email);
      if (existing) return existing.id;
      return this.createUser({ name: input.requester.name, email }).id;
    }
    return this.resolveUserReference(input.requester_id, 'requester_id') ?? actorId;
  }

  private resolveUserReference(value: unknown, field: string): number | null {
    const id = optionalNumber(value, field);
    if (id === null) return null;
    // UNCONFIRMED wording; 422 RecordInvalid is the documented shape for invalid records.
    if (!this.users.has(id)) throw recordInvalid({ [field]: [{ description: `${field}: is invalid`, error: 'InvalidValue' }] });
    return id;
  }

  private applyCustomFields(ticket: TicketRecord, value: unknown): void {
    if (value === undefined || value === null) return;
    if (!Array.isArray(value)) throw recordInvalid({ custom_fields: [{ description: 'custom_fields: must be an array', error: 'InvalidValue' }] });
    for (const entry of value) {
      if (!isObject(entry)) continue;
      const id = Number(entry.id);
      const field = this.ticketFields.get(id);
      // Ids of fields that don't exist are ignored rather than rejected.
      if (!field || !field.active) continue;
      ticket.customFields.set(id, coerceFieldValue(field, entry.value));
      tagsFollowField(ticket, field);
    }
  }
}

// ---------------------------------------------------------------- wire shapes

/** A ticket as Show Ticket returns it (Tickets JSON format; key order as in the recorded go-zendesk fixture). */
export function ticketJson(account: ZendeskAccount, ticket: TicketRecord): Record<string, unknown> {
  const base = account.baseUrl();
  const customFields = account.customFields().map((field) => ({ id: field.id, value: ticket.customFields.get(field.id) ?? null }));
  return {
    url: `${base}/api/v2/tickets/${ticket.id}.json`,
    id: ticket.id,
    external_id: ticket.externalId,
    via: { channel: ticket.viaChannel, source: { from: {}, to: {}, rel: null } },
    created_at: isoSeconds(ticket.createdAt),
    updated_at: isoSeconds(ticket.updatedAt),
    generated_timestamp: ticket.generatedTimestamp,
    type: ticket.type,
    subject: ticket.subject,
    raw_subject: ticket.subject,
    description: ticket.description,
    priority: ticket.priority,
    // "deleted" is what the incremental export reports for soft-deleted tickets (Incremental Exports,
    // exclude_deleted: "By default, deletions will appear in the ticket stream").
    status: ticket.deleted ? 'deleted' : ticket.status,
    recipient: null,
    requester_id: ticket.requesterId,
    submitter_id: ticket.submitterId,
    assignee_id: ticket.assigneeId,
    organization_id: ticket.organizationId,
    group_id: ticket.groupId,
    collaborator_ids: [],
    follower_ids: [],
    email_cc_ids: [],
    forum_topic_id: null,
    problem_id: null,
    has_incidents: false,
    is_public: ticket.comments.some((comment) => comment.public),
    due_at: ticket.dueAt,
    tags: [...ticket.tags],
    custom_fields: customFields,
    satisfaction_rating: null,
    sharing_agreement_ids: [],
    fields: customFields.map((entry) => ({ ...entry })),
    followup_ids: [],
    ticket_form_id: null,
    brand_id: null,
    allow_channelback: false,
    allow_attachments: true,
    from_messaging_channel: false,
  };
}

/** A user as Show User returns it (Users JSON format; keys as in the recorded go-zendesk fixture). */
export function userJson(account: ZendeskAccount, user: UserRecord): Record<string, unknown> {
  return {
    id: user.id,
    url: `${account.baseUrl()}/api/v2/users/${user.id}.json`,
    name: user.name,
    email: user.email,
    created_at: isoSeconds(user.createdAt),
    updated_at: isoSeconds(user.updatedAt),
    time_zone: user.timeZone,
    iana_time_zone: 'America/New_York',
    phone: user.phone,
    shared_phone_number: null,
    photo: null,
    locale_id: 1,
    locale: user.locale,
    organization_id: user.organizationId,
    role: user.role,
    verified: user.verified,
    external_id: user.externalId,
    ...(account.userTagging ? { tags: [...user.tags] } : {}),
    alias: null,
    active: user.active,
    shared: false,
    shared_agent: false,
    last_login_at: null,
    two_factor_auth_enabled: false,
    signature: null,
    details: user.details,
    notes: user.notes,
    role_type: null,
    custom_role_id: null,
    moderator: user.role !== 'end-user',
    ticket_restriction: user.role === 'end-user' ? 'requested' : null,
    only_private_comments: false,
    restricted_agent: user.role === 'end-user',
    suspended: user.suspended,
    chat_only: false,
    default_group_id: null,
    report_csv: false,
    user_fields: { ...user.userFields },
  };
}

/** A ticket field as List Ticket Fields returns it (keys as in go-zendesk fixture/GET/ticket_field.json). */
export function ticketFieldJson(account: ZendeskAccount, field: TicketFieldRecord): Record<string, unknown> {
  return {
    url: `${account.baseUrl()}/api/v2/ticket_fields/${field.id}.json`,
    id: field.id,
    type: field.type,
    title: field.title,
    raw_title: field.title,
    description: '',
    raw_description: '',
    position: field.id,
    active: field.active,
    required: field.required,
    collapsed_for_agents: false,
    regexp_for_validation: null,
    title_in_portal: field.title,
    raw_title_in_portal: field.title,
    visible_in_portal: false,
    editable_in_portal: false,
    required_in_portal: false,
    // A checkbox's tag (Create Ticket Field: "Optionally, you can specify a tag to be added to the ticket when the value is true").
    tag: field.tag,
    created_at: isoSeconds(field.createdAt),
    updated_at: isoSeconds(field.updatedAt),
    removable: !(systemFieldTypes as readonly string[]).includes(field.type),
    agent_description: null,
    ...(field.type === 'tagger' || field.type === 'multiselect' ? { custom_field_options: field.options.map((option, index) => ({ id: field.id * 100 + index, name: option.name, raw_name: option.name, value: option.value, default: false })) } : {}),
  };
}

/** One comment as List Comments returns it. */
export function commentJson(comment: CommentRecord): Record<string, unknown> {
  return {
    id: comment.id,
    type: 'Comment',
    author_id: comment.authorId,
    body: comment.body,
    html_body: `<div class="zd-comment" dir="auto"><p dir="auto">${escapeHtml(comment.body)}</p></div>`,
    plain_body: comment.body,
    public: comment.public,
    attachments: [],
    audit_id: comment.id,
    via: { channel: 'api', source: { from: {}, to: {}, rel: null } },
    created_at: isoSeconds(comment.createdAt),
  };
}

// ---------------------------------------------------------------- parsing helpers

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cloneTicket(ticket: TicketRecord): TicketRecord {
  return { ...ticket, tags: [...ticket.tags], customFields: new Map(ticket.customFields), comments: [...ticket.comments], deleted: ticket.deleted ? { ...ticket.deleted } : null };
}

function ticketFingerprint(ticket: TicketRecord): string {
  return JSON.stringify({ ...ticket, customFields: [...ticket.customFields], comments: ticket.comments.length });
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw recordInvalid({ [field]: [{ description: `${field}: is invalid`, error: 'InvalidValue' }] });
}

function optionalNumber(value: unknown, field: string): number | null {
  if (value === undefined || value === null || value === '') return null;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number)) throw recordInvalid({ [field]: [{ description: `${field}: is invalid`, error: 'InvalidValue' }] });
  return number;
}

// UNCONFIRMED wording for the enum errors below; the status code and envelope are the documented RecordInvalid.
function parseStatus(value: unknown): TicketStatus | undefined {
  if (value === undefined || value === null) return undefined;
  if ((ticketStatuses as readonly unknown[]).includes(value)) return value as TicketStatus;
  throw recordInvalid({ status: [{ description: `Status: ${String(value)} is not valid`, error: 'InvalidValue' }] });
}

function parsePriority(value: unknown): TicketPriority | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if ((ticketPriorities as readonly unknown[]).includes(value)) return value as TicketPriority;
  throw recordInvalid({ priority: [{ description: `Priority: ${String(value)} is not valid`, error: 'InvalidValue' }] });
}

/**
 * An update's status and priority, under two of Zendesk's native system ticket rules, which "can't be reconfigured"
 * (support article 4408894213018 "About native system ticket rules"): "After a ticket's status has been changed from
 * New, it can never be set back to New", and "When you set a priority, you can't reset it back to no priority. You can
 * always change it to a different priority." So `new` leaves a ticket that is not new as it is, and a null or empty
 * priority never clears one. UNCONFIRMED: what Update Ticket answers to such a write; no recorded response was found.
 * The fake answers 200 and keeps the old value, as Zendesk describes its REST API: "The REST API is permissive ...
 * Compare the values you send in the payload to the response object ... [it] shows if your business rules change the
 * values that you try to set" (support article 4418443326106 "REST API gives 200 response but the request didn't
 * work"); its Apps API likewise takes, "For an existing ticket", the statuses "open, pending, hold and solved" only
 * (article 4959212269210).
 */
function applyStatusAndPriority(ticket: TicketRecord, input: TicketInput): void {
  const status = parseStatus(input.status);
  if (status !== undefined && (status !== 'new' || ticket.status === 'new')) ticket.status = status;
  const priority = parsePriority(input.priority);
  if (priority !== undefined) ticket.priority = priority;
}

function parseType(value: unknown): TicketType | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if ((ticketTypes as readonly unknown[]).includes(value)) return value as TicketType;
  throw recordInvalid({ type: [{ description: `Type: ${String(value)} is not valid`, error: 'InvalidValue' }] });
}

function parseRole(value: unknown): UserRole | undefined {
  return value === 'end-user' || value === 'agent' || value === 'admin' ? value : undefined;
}

function parseTags(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : String(value).split(/[\s,]+/);
  return [...new Set(list.map(String).filter((tag) => tag !== ''))];
}

function commentBody(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return null;
  const body = value.body ?? value.html_body ?? value.value;
  return typeof body === 'string' ? body : null;
}

function commentPublic(value: unknown): boolean | undefined {
  return isObject(value) && typeof value.public === 'boolean' ? value.public : undefined;
}

function commentAuthor(value: unknown): number | undefined {
  return isObject(value) && typeof value.author_id === 'number' ? value.author_id : undefined;
}

function coerceFieldValue(field: TicketFieldRecord, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'checkbox':
      return value === true || value === 'true' || value === 1;
    case 'multiselect':
      return Array.isArray(value) ? value.map(String) : [String(value)];
    case 'tagger': {
      const text = String(value);
      if (field.options.length > 0 && !field.options.some((option) => option.value === text)) {
        // UNCONFIRMED wording; 422 RecordInvalid is the documented envelope.
        throw recordInvalid({ base: [{ description: `${field.title}: ${text} is not a valid option`, error: 'InvalidValue', ticket_field_id: field.id }] });
      }
      return text;
    }
    default:
      // Text-like values come back as strings, as in the docs' example ({"id": 27642, "value": "745"}).
      return String(value);
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
