import type { FlowRecord } from '../../nodes/types';
import type { ConnectionForm, ConnectionOptions } from '../../nodes/trigger/connectionForm';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { ResolvedAuth } from '../credentials/types';
import type { ConnectorAccess } from './access';

export type { ConnectionField, ConnectionForm, ConnectionOption, ConnectionOptions } from '../../nodes/trigger/connectionForm';

/** A change timestamp or version as the system stores it: ISO-8601 text or a number. */
export type Version = string | number;

/** One record as a connector reads it: identity and bookkeeping apart from the data fields (SPEC §3). */
export interface SourceRecord {
  id: string;
  /** The `updatedAt` value, or null when the collection has none. */
  version: Version | null;
  /** The loop-prevention tag stored on the record (`tagColumn`), when the connector can store one. */
  tag: string | null;
  /** True for a soft-deleted record (`deletedFlag`), or a delete reported by a webhook. */
  deleted: boolean;
  /** Data fields only: never the key, updatedAt, tag or deleted-flag columns. */
  fields: FlowRecord;
}

/** Where a poll resumes: records with `version >= since`; within one listing, `afterId` breaks ties at `since`. */
export interface ListPosition {
  since: Version | null;
  afterId: string | null;
}

export interface ListPage {
  records: SourceRecord[];
  /** Where the next page starts, or null when this was the last. */
  next: ListPosition | null;
}

export type WriteOp =
  /** `id`: the key the record is to take (a trigger with `keys: "shared"`), for connectors with `givenKeys`. */
  | { kind: 'create'; fields: FlowRecord; tag: string; id?: string }
  | { kind: 'update'; id: string; fields: FlowRecord; tag: string; expectedVersion: Version | null }
  | { kind: 'delete'; id: string; expectedVersion: Version | null };

export type WriteResult =
  /**
   * `record`: on a create by a connector with `capabilities.createdRecords`, the record as the system now holds it
   * (its defaults and trigger-set values included), exactly what `getMany` would return for `id` right after.
   * `incomplete`: the record was made, but a step after the create failed (a system that cannot create an issue closed
   * closes it next), so it does not hold everything written: why. The engine links it all the same (a second create
   * would make a second record) and files it as failing, so the next pass writes what it lacks.
   */
  | { ok: true; id: string; version: Version | null; record?: SourceRecord; incomplete?: string }
  /** `changed`: the record's version is no longer the one read (update-if-unchanged lost); `missing`: it is gone. */
  | { ok: false; reason: 'changed' | 'missing' }
  /** A create given a key (`id`) that another record already holds: nothing was written, nothing overwritten. */
  | { ok: false; reason: 'taken' }
  /**
   * Anything else; `retryAfterMs` when the system said when to come back (HTTP Retry-After). `mayHaveApplied`: the
   * system may have done it all the same (a create whose answer was lost: a timeout, a 5xx after the request went
   * out). For a create, the engine then keeps its journal entry, as for a pass that died mid-write: the next pass
   * adopts the record if it lists it (by tag, by exactly what was written, or by match values) rather than create a
   * second one (engine/pass/recovery.ts).
   */
  | { ok: false; reason: 'failed'; message: string; retryable: boolean; retryAfterMs?: number; mayHaveApplied?: boolean };

export interface FieldDescription {
  name: string;
  type: string;
  nullable: boolean;
}

export interface CollectionDescription {
  name: string;
  fields: FieldDescription[];
}

/**
 * What a delete written to a system does there. `remove` takes the record away (or marks it with `deletedFlag`);
 * `close` and `archive` keep it, in a state the system calls closed or archived (a GitHub issue is closed: the REST
 * API has no delete for issues); `cannot`: the system offers no delete at all, so the engine never plans one.
 */
export type DeleteMeaning = 'remove' | 'close' | 'archive' | 'cannot';

export interface ConnectorCapabilities {
  /** Updates and deletes can be made conditional on the version read. */
  conditionalWrites: boolean;
  /** A tag can be stored on the record (`tagColumn` or the like). */
  tags: boolean;
  /** `listSince` filters by version; without it every poll is a full listing. */
  incremental: boolean;
  /** `scanIds` can list every id, so hard deletes are seen. */
  fullScan: boolean;
  /**
   * An update may carry part of a nested object (only the leaves that differ) and the system merges it into what it
   * holds (an API's PATCH). Without it, the engine sends each changed nested object whole.
   */
  partialObjects?: boolean;
  /** What a delete does on this system; `remove` when absent. */
  deletes?: DeleteMeaning;
  /**
   * How far before `since` a listing may reach back (ms): systems whose change feed lags or ties in no order are read
   * from a little before the cursor (saas/changeFeed.ts), so a listing may include records up to this much older.
   */
  lookbackMs?: number;
  /**
   * False when the system has no change feed (no "changed since" filter it can be trusted with: Moodle's users, a
   * whole-table HR report). Each pass then lists the whole collection from the start, in pages, and the engine finds
   * what changed by comparing each record with its shadow; records gone from the listing are deletes (snapshot
   * change detection, docs/connectors.md). `incremental` is false too. True when absent.
   */
  changeFeed?: boolean;
  /**
   * A create may carry the key the record is to take (`WriteOp` create `id`, a trigger with `keys: "shared"`); a key
   * another record holds is never overwritten: that create comes back `taken`. False when absent.
   */
  givenKeys?: boolean;
  /**
   * A create's result carries the record as stored (`WriteResult` `record`), so the engine need not read each page of
   * creates back to learn what the system filled in. False when absent: a system whose create answers with less than
   * a read returns (most SaaS APIs) is read back.
   */
  createdRecords?: boolean;
}

/**
 * One collection of one system, as the engine sees it. Every connector passes the contract suite in
 * `test/connector-contract.ts`.
 */
export interface Connector {
  readonly capabilities: ConnectorCapabilities;
  /** Records changed at or after `position.since` (all, when null), ordered by version then id, at most `limit`. */
  listSince(position: ListPosition, limit: number): Promise<ListPage>;
  /** The current records for these ids; ids that do not exist are absent from the map. */
  getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>>;
  /** Applies writes in order, as one batch where the system allows; one result per op, in the same order. */
  write(ops: readonly WriteOp[]): Promise<WriteResult[]>;
  /** Every id in the collection, in pages, for seeing hard deletes. */
  scanIds(limit: number): AsyncIterable<string[]>;
  /**
   * How many records `scanIds` would list, when the system can tell cheaply (an index count, not a scan). Lets the
   * engine skip the scan when the count shows no linked record can be gone.
   */
  count?(): Promise<number>;
  /**
   * A cheap mark of removals: two equal marks promise that no record left the collection (a hard delete, a deleted
   * flag set) between the two calls, except by this connector's own writes. Null when it cannot tell. Lets the engine
   * skip even `count()` while nothing can be gone (a count reads a whole index: 10–30 ms a million rows).
   */
  removalMark?(): Promise<string | null>;
  /** The collections of this connection and their fields, for validation and the editor's dropdowns. */
  describe(): Promise<CollectionDescription[]>;
  /**
   * The fields as the system will hold them once written, for a system that keeps some values in a form of its own
   * (HubSpot answers every datetime in UTC, every number as a number). The engine compares the side with the golden
   * record, and keeps the side's shadow, in that form: a value the system would only reformat is no change to write,
   * and reads back as the sync's own write rather than as an edit to carry to the other systems. A value it cannot
   * take stays as it is, for the write to refuse. Absent: the system holds what it is sent.
   */
  storedForm?(fields: FlowRecord): FlowRecord;
  /**
   * For a connector that may serve the next pass too (opening one costs more than a small pass): whether it still
   * reaches what it was opened on, unchanged in shape. The engine keeps such a connector open between passes and asks
   * before each reuse; without this method it opens a connector for every pass.
   */
  stillCurrent?(): Promise<boolean>;
  close(): Promise<void>;
}

/** What a connector factory gets: the trigger's config, resolved paths and secrets, and what it may reach. */
export interface ConnectorContext {
  config: TriggerConfig;
  /** Relative paths in `connection` resolve against this folder (the flow file's, SPEC §8). */
  baseDir: string;
  /**
   * Looks up a stored credential's secret by name: a token, a basic credential's password, an OAuth2 credential's
   * access token (refreshed when about to expire).
   */
  resolveCredential(name: string): Promise<string>;
  /**
   * A stored credential by its kind: `{kind: 'bearer', token}` or `{kind: 'basic', username, password}`, for a
   * connector that takes either. Absent where no store is wired in (some tests): then read `resolveCredential`.
   */
  resolveAuth?(name: string): Promise<ResolvedAuth>;
  /**
   * The files and hosts the operator lets connectors reach: a connector opens files through `allowedFilePath`
   * (files.ts) and calls hosts through `guardedFetch` (network.ts), never around them.
   */
  access: ConnectorAccess;
}

/** A webhook delivery as the runtime received it: the raw body and a header lookup (names case-insensitive). */
export interface WebhookDelivery {
  /** The request's method (`POST`). Some schemes sign it (HubSpot's v3 signature). */
  method: string;
  /**
   * The request target as received: path and query (`/hooks/flow/node?secret=…`). Some schemes sign the full URL
   * (HubSpot v3); some carry their secret in it (Mailchimp signs nothing).
   */
  url: string;
  body: Uint8Array;
  header(name: string): string | undefined;
}

/** What one delivery means for a trigger's collection. */
export type WebhookReading =
  /** Records of the collection changed: hints, read again before any merge (SPEC §5.1). */
  | { kind: 'events'; events: Array<{ recordId: string; type: 'upsert' | 'delete' }> }
  /** The system checking that the URL answers (GitHub's `ping`): answered 200, stores nothing. */
  | { kind: 'ping' }
  /** About something else (another collection, a comment): accepted, so the system does not retry it, and dropped. */
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; message: string; path: string };

/**
 * How a system sends webhooks (each SaaS connector has its own): what is signed and how, its delivery id, its event
 * types. The secret is the trigger's `detect.secret` credential.
 */
export interface ConnectorWebhook {
  /**
   * True when the system checks a webhook's URL with a GET before it saves the webhook (Mailchimp). The runtime then
   * answers `GET /hooks/:flowId/:nodeId` with 200 when `verify` accepts the GET (an empty body), 401 when not; for
   * every other trigger such a GET stays a 404.
   */
  urlCheckedByGet?: boolean;
  /** Null when the delivery is genuine (signature, and timestamp where the scheme has one); else why not, as a 401 says it. */
  verify(delivery: WebhookDelivery, secret: string, now: Date): string | null;
  /** The system's id of this delivery, the same on a redelivery, for de-duplication; null when it sends none. */
  deliveryId(delivery: WebhookDelivery): string | null;
  read(delivery: WebhookDelivery, config: TriggerConfig): WebhookReading;
  /**
   * Where the system's API allows: makes the system send this trigger's events to `url`, signed with `secret`. Called
   * when the flow is deployed and again at every start, so it must be idempotent (find an existing hook by its URL).
   * A system that makes the signing secret itself (`generatesSecret`) is given the stored secret when there is one
   * (null when not) and returns the secret it signs with; the runtime stores it as the trigger's `detect.secret`.
   * `notes`: what a person should know about the hook as registered (fields the system would not watch), shown with
   * the trigger's status.
   */
  register?(context: ConnectorContext, target: { url: string; secret: string | null }): Promise<{ secret?: string; notes?: string[] } | void>;
  /**
   * The system, not the runtime, makes the signing secret when a webhook is registered (Zendesk: "Show Webhook Signing
   * Secret"): nobody has to store one by hand before the flow is deployed.
   */
  generatesSecret?: boolean;
  /** Stops the system sending to `url` (the flow was paused, changed or removed); nothing to do when it is not sending. */
  unregister?(context: ConnectorContext, url: string): Promise<void>;
}

export interface ConnectorType {
  type: string;
  title: string;
  /** How the system's webhooks are checked and read, for triggers with `detect.mode: "webhook"`. */
  webhook?: ConnectorWebhook;
  /** Checks `connection` for this connector; returns problems as path (inside `connection`) and message. */
  checkConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }>;
  open(context: ConnectorContext): Promise<Connector>;
  /**
   * Connectors of this type can create a record under a given key (`capabilities.givenKeys`, which an opened one may
   * still deny for its collection). Without it a trigger with `keys: "shared"` is refused when its flow is validated.
   */
  givenKeys?: boolean;
  /** Every collection of a connection and its fields, before a collection is chosen (the editor's dropdowns). */
  describeConnection?(context: ConnectionContext): Promise<CollectionDescription[]>;
  /**
   * How a person fills in `connection` (the editor renders it; `GET /api/connectors` serves it): one descriptor per
   * option of the connection schema, kept beside it in the connector's `form.ts`. Without one, the editor offers JSON.
   */
  connectionForm?: ConnectionForm;
  /**
   * The choices of one `lookup` field of `connectionForm`, read from the system with the connection as filled in so
   * far (GitHub: the repositories the token can see). `field` is the descriptor's key.
   */
  connectionOptions?(context: ConnectionContext, field: string): Promise<ConnectionOptions>;
}

/** What describing a whole connection needs: no collection, key or trigger config yet. */
export interface ConnectionContext {
  connection: Record<string, unknown>;
  baseDir: string;
  resolveCredential(name: string): Promise<string>;
  resolveAuth?(name: string): Promise<ResolvedAuth>;
  access: ConnectorAccess;
}

/**
 * Thrown by a connector when the system's rate limit stops it for longer than it will wait within a pass. Not a
 * failure of the system or of the credentials: the pass stops cleanly (its cursors stay where they were) and the
 * next pass, at or after `resumeAt`, goes on.
 */
export class RateLimitedError extends Error {
  readonly resumeAt: Date;
  constructor(system: string, resumeAt: Date, detail: string) {
    super(`${system} rate limit reached (${detail}); the next pass resumes at ${resumeAt.toISOString()}`);
    this.name = 'RateLimitedError';
    this.resumeAt = resumeAt;
  }
}

/** Thrown by a connector when the system cannot be used at all (unreachable, wrong credentials, no such table). */
/** A write's failure as a connector's own error describes it: whether to retry, and whether it may have applied. */
export function failedWrite(error: ConnectorError): WriteResult {
  return { ok: false, reason: 'failed', message: error.message, retryable: error.retryable, ...(error.mayHaveApplied ? { mayHaveApplied: true } : {}) };
}

export class ConnectorError extends Error {
  readonly retryable: boolean;
  /** The request may have been applied all the same: its answer was lost (see WriteResult's `mayHaveApplied`). */
  readonly mayHaveApplied: boolean;
  constructor(message: string, options: { retryable?: boolean; cause?: unknown; mayHaveApplied?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ConnectorError';
    this.retryable = options.retryable ?? false;
    this.mayHaveApplied = options.mayHaveApplied ?? false;
  }
}
