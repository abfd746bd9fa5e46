import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The runtime's state. JSON values are stored as text and timestamps as ISO-8601 text, so the same queries
 * run on SQLite and Postgres.
 */
export interface Database {
  flows: FlowsTable;
  entities: EntitiesTable;
  links: LinksTable;
  cursors: CursorsTable;
  write_ahead: WriteAheadTable;
  runs: RunsTable;
  run_log: RunLogTable;
  conflicts: ConflictsTable;
  failing_records: FailingRecordsTable;
  credentials: CredentialsTable;
  /**
   * In a SQLite file, where versions before the webhook inbox (webhooks.db) kept webhook events: only
   * `carryOverWebhookEvents` reads them, moving what it finds to the inbox on start. A later migration may drop them
   * there, but never on PostgreSQL, where these very tables are the webhook inbox (runtime/db/inbox.ts).
   */
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  trigger_status: TriggerStatusTable;
  webhook_removals: WebhookRemovalsTable;
  flow_knowledge: FlowKnowledgeTable;
  flow_drafts: FlowDraftsTable;
  flow_versions: FlowVersionsTable;
}

/**
 * The webhook inbox (webhooks.db, runtime/db/inbox.ts): webhook events and delivery ids, in a file of their own so the
 * intake's many small commits never wait for the state's write lock held by a pass, nor a pass for them.
 */
export interface InboxDatabase {
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export interface FlowsTable {
  id: string;
  /** The canonical document bytes, exactly as exported. */
  document: string;
  deployed: number;
  alert_url: string | null;
  created_at: string;
  updated_at: string;
}

/** One linked entity of a flow: its golden record in the conflict node's vocabulary. */
export interface EntitiesTable {
  id: string;
  flow_id: string;
  golden: string;
  /** The normalised `match` values, so unlinked records find their entity with an index lookup. */
  match_key: string | null;
  deleted: number;
  /** Breaker bookkeeping: writes made for this entity since `breaker_window_start`. */
  breaker_window_start: string | null;
  breaker_writes: number;
  quarantined: number;
  created_at: string;
  updated_at: string;
  /**
   * JSON object: field → where its golden value came from (`FieldProvenance`, runtime/engine/provenance.ts). Null until
   * a field changes; saved with the golden record, in the same statement.
   */
  provenance: string | null;
  /**
   * JSON object: node id → record id → `LinkState`, the state of each of the entity's links, kept in step with the
   * `links` rows that name this entity (runtime/db/entitySides.ts). `{}` when none is given on insert.
   */
  sides: Generated<string>;
}

/**
 * A record on one side linked to an entity: the narrow row that finds a record's entity and counts a side's links.
 * What else a link says (its shadow, version, the runtime's last write) is kept in its entity's row (`sides`), so a
 * change to a linked record rewrites one row, its entity, instead of the entity and a row per side.
 */
export interface LinksTable {
  flow_id: string;
  node_id: string;
  record_id: string;
  entity_id: string;
  /** The record is gone from this side and the `deletes` policy kept the entity: never recreate it there. */
  deleted: number;
}

/**
 * What a link says beyond its narrow row, as its entity's `sides` holds it (runtime/db/entitySides.ts): the side's
 * shadow (last in-sync projection) and version, and the runtime's last write to the record.
 */
export interface LinkState {
  shadow: string | null;
  /**
   * `shadowHash` of the shadow, for sides listed whole on every pass (runtime/engine/snapshot.ts); null where none
   * was taken. Whatever writes `shadow` writes this too (upsertLinks), so a hash never outlives its shadow.
   */
  shadow_hash: string | null;
  /** The side's version when the shadow was taken, for conditional writes. */
  version: string | null;
  updated_at: string;
  /**
   * The tag of the runtime's last completed write to this record, and `writtenContentHash` of what it wrote: how that
   * write is recognised when it comes back (SPEC §6). Null when the runtime never wrote the record, or its echo was
   * counted already (snapshot.ts). A save that did not write the record keeps them (upsertLinks).
   */
  written_tag: string | null;
  written_hash: string | null;
}

/** A link whole: its narrow row and its state. What the engine reads and saves (runtime/db/queries.ts). */
export type LinkRow = LinksTable & LinkState;

export interface CursorsTable {
  flow_id: string;
  node_id: string;
  /** JSON of the version the next poll starts at (inclusive). */
  since: string | null;
  /** JSON array of record ids already seen at exactly `since`, dropped when listed again at that version. */
  seen: string;
  updated_at: string;
}

/**
 * The write-ahead journal (SPEC §6): one row per page of writes in flight, inserted before the page's first write and
 * deleted in the transaction that commits the page. A row that outlives its pass marks a page a crash interrupted;
 * the next pass recovers from it (runtime/engine/pass/recovery.ts) and trims it.
 */
export interface WriteAheadTable {
  /** Time-ordered id of the page (`writeId`). */
  page: string;
  flow_id: string;
  created_at: string;
  /** JSON array of `PendingWrite` (runtime/engine/pass/writeAhead.ts): each create and update the page means to make. */
  writes: string;
  /** JSON array of `PendingLink`: the records the page links before writing, so a crash cannot create them twice. */
  links: string;
}

export interface RunsTable {
  id: string;
  flow_id: string;
  /** The run's place among the flow's runs in the order they were recorded (startRun); null on none but old rows. */
  seq: number | null;
  started_at: string;
  finished_at: string | null;
  status: string;
  reason: string;
  dry_run: number;
  summary: string | null;
  error: string | null;
  /** The cluster member that ran the pass (host:pid); null for a single process's runs. */
  process?: string | null;
}

export interface RunLogTable {
  id: number | null;
  run_id: string;
  node_id: string;
  record_id: string | null;
  entity_id: string | null;
  outcome: string;
  fields: string | null;
  message: string | null;
  at: string;
}

export interface ConflictsTable {
  id: string;
  flow_id: string;
  entity_id: string | null;
  kind: string;
  field: string | null;
  base: string | null;
  /** JSON object: trigger node id → that side's value (or the candidates of an ambiguous match). */
  sides: string;
  status: string;
  resolution: string | null;
  created_at: string;
  resolved_at: string | null;
}

export interface FailingRecordsTable {
  flow_id: string;
  node_id: string;
  record_id: string;
  entity_id: string | null;
  error: string;
  attempts: number;
  first_failed_at: string;
  last_failed_at: string;
}

export interface CredentialsTable {
  name: string;
  /** `token`, `basic` or `oauth2`; any other type is a label on a plain secret, read as a token. */
  type: string;
  /**
   * AES-256-GCM: base64 of iv, tag and ciphertext, bound to the name. Never returned by the API. A `basic` or `oauth2`
   * credential's plaintext is JSON (runtime/credentials/types.ts); any other's is the secret itself.
   */
  value_encrypted: string;
  created_at: string;
  /** JSON, nothing secret: what the list shows of an OAuth2 credential (grant, status, expiry). Null for other kinds. */
  details: string | null;
  /** When the value last changed; null when never since it was created. */
  updated_at: string | null;
  /** Id of the refresh in progress, and when its lease lapses (a crashed refresher does not block the next one). */
  refresh_lease: string | null;
  refresh_lease_expires: string | null;
}

/** Webhook hints, stored before the 202 so an acknowledged event survives a crash. */
export interface WebhookEventsTable {
  id: number | null;
  flow_id: string;
  node_id: string;
  record_id: string;
  type: string;
  delivery_id: string | null;
  received_at: string;
  processed_at: string | null;
}

/** Delivery ids already taken, so a repeated `X-Syncline-Delivery` is accepted and ignored. */
export interface WebhookDeliveriesTable {
  flow_id: string;
  node_id: string;
  delivery_id: string;
  received_at: string;
}

/** When a trigger last took part in a finished pass. */
export interface TriggerStatusTable {
  flow_id: string;
  node_id: string;
  last_pass_at: string;
  /** When its system's rate limit last refused a pass: automatic passes leave its part alone for a while (holds.ts). */
  held_at: string | null;
  /** When the system said to come back. */
  held_until: string | null;
  /** What the system said when it refused (the part's error), for the runs that skip the part meanwhile. */
  held_reason: string | null;
}

/** A hook still to be removed from its system (webhookRegistrations.ts); its row goes once the system confirms. */
export interface WebhookRemovalsTable {
  flow_id: string;
  node_id: string;
  url: string;
  /** The trigger's config as JSON: the system, collection and credential the hook belongs to. */
  config: string;
  requested_at: string;
}

/** What the last clean pass of a flow learned about its sides (see SyncEngine's SideKnowledge). */
export interface FlowKnowledgeTable {
  flow_id: string;
  /** The pass that learned it: any other pass of the flow started since makes it void. */
  run_id: string;
  started_at: string;
  /** Hash of the flow's nodes and edges: a changed flow makes it void. */
  fingerprint: string;
  /** JSON object: trigger node id → { liveLinks, clean }. */
  sides: string;
}

/** A flow's work in progress from the editor: canonical bytes of any JSON document, valid or not. */
export interface FlowDraftsTable {
  flow_id: string;
  document: string;
  saved_at: string;
}

/** The documents a flow ran with, numbered from 1 per flow (see the 2026_12_03_1200 migration). */
export interface FlowVersionsTable {
  flow_id: string;
  version: number;
  /** The canonical bytes that ran, as GET /api/flows/:id gave them then. */
  document: string;
  deployed_at: string;
}

export type FlowRow = Selectable<FlowsTable>;
export type EntityRow = Selectable<EntitiesTable>;
export type NewEntity = Insertable<EntitiesTable>;
export type EntityUpdate = Updateable<EntitiesTable>;
export type CursorRow = Selectable<CursorsTable>;
export type WriteAheadRow = Selectable<WriteAheadTable>;
export type RunRow = Selectable<RunsTable>;
export type RunLogRow = Selectable<RunLogTable>;
export type NewRunLog = Insertable<RunLogTable>;
export type ConflictRow = Selectable<ConflictsTable>;
export type FailingRow = Selectable<FailingRecordsTable>;
export type CredentialRow = Selectable<CredentialsTable>;
export type WebhookEventRow = Selectable<WebhookEventsTable>;
