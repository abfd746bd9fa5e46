/**
 * The `members` collection: the members of one audience (`connection.list`), as members.ts reads and writes them.
 *
 * - Listed from a change feed over "List members info" (listing.ts): every status, then the archived ones, each in a
 *   closed window of `last_changed`, served sorted by saas/changeFeed.ts with a second of lookback.
 * - Read by id with "Get member info", a request per member, at most `maxConnections` at once; a member this
 *   connector has just created is read from Mailchimp's answer to the create, which is the member as stored.
 * - Written by writes.ts: one request per op, or batch operations for a large write.
 * - No tag is stored on a member for loop prevention (`tags: false`): Mailchimp tags are the audience's own
 *   segmentation; the runtime recognises its own writes by the write journal's hash (SPEC §6). Writes are not
 *   conditional: Mailchimp has no If-Match for members.
 */
import { ChangeFeed } from '../saas/changeFeed';
import type { CollectionDescription, Connector, ConnectorCapabilities, ListPage, ListPosition, SourceRecord, WriteOp, WriteResult } from '../types';
import { ConnectorError } from '../types';
import type { MailchimpClient } from './client';
import type { MailchimpConnection } from './config';
import type { BatchTiming } from './batches';
import { mailchimpLookbackMs, readWindow } from './listing';
import { MergeFieldCatalog, missingAudience } from './mergeFields';
import { hasUnlistedTags, isSubscriberHash, memberFieldDescriptions, memberRecord } from './members';
import { failureOf, MemberWriter } from './writes';

/** The one collection of a `mailchimp` connection. */
export const membersCollection = 'members';

export interface AudienceSettings {
  pageSize: number;
  batchThreshold: number;
  batchTiming: BatchTiming;
  parallel: number;
}

export class MailchimpMembers implements Connector {
  readonly capabilities: ConnectorCapabilities = {
    conditionalWrites: false,
    tags: false,
    incremental: true,
    // Archived members are listed by the change feed; nothing is ever removed for good by anyone but a person.
    fullScan: false,
    partialObjects: true,
    deletes: 'archive',
    lookbackMs: mailchimpLookbackMs,
  };
  private readonly feed: ChangeFeed;
  private catalogLoad: Promise<MergeFieldCatalog> | null = null;
  /** Members as last read by this connector: the tags a write turns off are those it last saw. */
  private readonly lastRead = new Map<string, SourceRecord>();
  /** Members this connector created, as Mailchimp answered the create: read back once, without asking again. */
  private readonly created = new Map<string, SourceRecord>();
  private readonly listPath: string;

  constructor(
    private readonly client: MailchimpClient,
    private readonly connection: MailchimpConnection,
    private readonly settings: AudienceSettings,
    private readonly onClose: () => void,
  ) {
    this.listPath = `/lists/${encodeURIComponent(connection.list)}`;
    this.feed = new ChangeFeed({ lookbackMs: mailchimpLookbackMs, changedSince: (since) => this.changedSince(since) });
  }

  listSince(position: ListPosition, limit: number): Promise<ListPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new ConnectorError(`listSince: limit must be a whole number of at least 1, got ${limit}`);
    return this.feed.listSince(position, limit);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    const wanted = [...new Set(ids.filter(isSubscriberHash))];
    const toRead: string[] = [];
    for (const id of wanted) {
      const answered = this.created.get(id);
      if (answered) {
        this.created.delete(id);
        found.set(id, answered);
      } else {
        toRead.push(id);
      }
    }
    let missing = false;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < toRead.length; index = next++) {
        const id = toRead[index] as string;
        const response = await this.client.request('GET', `${this.listPath}/members/${id}`);
        if (response.status === 404) {
          missing = true;
          continue;
        }
        if (response.status !== 200) throw this.client.failure(response);
        const record = await this.toRecord((response.body ?? {}) as Record<string, unknown>);
        if (record && record.id === id) found.set(id, record);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.parallel, toRead.length) }, worker));
    // A 404 means the member is gone only while the audience itself answers.
    if (missing) await this.catalog();
    for (const record of found.values()) this.lastRead.set(record.id, record);
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    if (ops.length === 0) return [];
    let catalog: MergeFieldCatalog;
    try {
      catalog = await this.catalog();
      // Tags are turned off against those last read: read the members about to lose some that this connector has not seen.
      const unseen = ops.filter((op) => op.kind === 'update' && isSubscriberHash(op.id) && ('tags' in op.fields || hasAddress(op.fields)) && !this.lastRead.has(op.id)).map((op) => (op as { id: string }).id);
      if (unseen.length > 0) await this.getMany(unseen);
    } catch (caught) {
      // Nothing was written: every op fails as the read did (a long rate limit says when to come back).
      const failure = failureOf(caught, this.client.now());
      return ops.map(() => failure);
    }
    const writer = new MemberWriter(this.client, catalog, { listId: this.connection.list, statusIfNew: this.connection.statusIfNew, ...this.settings }, (id) => this.lastRead.get(id) ?? null);
    const { results, created } = await writer.write(ops);
    for (const [index, result] of results.entries()) {
      const op = ops[index] as WriteOp;
      // What this connector read of a member it wrote is stale now.
      if (op.kind !== 'create') this.lastRead.delete(op.id);
      if (result.ok) this.created.delete(result.id);
    }
    for (const record of created) {
      this.created.set(record.id, record);
      this.lastRead.set(record.id, record);
    }
    return results;
  }

  // eslint-disable-next-line require-yield
  async *scanIds(): AsyncIterable<string[]> {
    throw new ConnectorError('mailchimp members are not scanned: a member is never removed for good by the sync, and archived members come through the change feed');
  }

  async describe(): Promise<CollectionDescription[]> {
    return [{ name: membersCollection, fields: [...memberFieldDescriptions, ...(await this.catalog()).describe()] }];
  }

  async close(): Promise<void> {
    this.onClose();
  }

  private catalog(): Promise<MergeFieldCatalog> {
    this.catalogLoad ??= MergeFieldCatalog.load(this.client, this.connection.list).catch((error: unknown) => {
      this.catalogLoad = null;
      throw error;
    });
    return this.catalogLoad;
  }

  /**
   * Every member changed after `since`, in windows that close a second before the server's time at the start (see
   * listing.ts): first every status but archived, then the archived.
   */
  private async *changedSince(since: Date | null): AsyncIterable<SourceRecord[]> {
    // The merge fields are needed anyway; their answer also tells the server's time, and that the audience exists.
    await this.catalog();
    let serverNow = this.client.serverNow();
    if (serverNow === null) {
      const response = await this.client.request('GET', this.listPath);
      if (response.status === 404) throw missingAudience(this.connection.list, response.shown);
      serverNow = this.client.serverNow() ?? this.client.now();
    }
    const before = new Date(Math.floor(serverNow / 1000) * 1000 - 1000);
    if (since !== null && since.getTime() >= before.getTime()) return;
    for (const status of [null, 'archived'] as const) {
      for await (const page of readWindow(this.client, this.connection.list, { since, before, status }, this.settings.pageSize)) {
        const records: SourceRecord[] = [];
        for (const member of page) {
          const record = await this.toRecord(member);
          if (record) records.push(record);
        }
        for (const record of records) this.lastRead.set(record.id, record);
        yield records;
      }
    }
  }

  /** A member as a record, with all its tags when it has more than a member's JSON lists. */
  private async toRecord(member: Record<string, unknown>): Promise<SourceRecord | null> {
    if (!hasUnlistedTags(member) || typeof member.id !== 'string') return memberRecord(member);
    const names: string[] = [];
    for (let offset = 0; ; offset += 1000) {
      const body = await this.client.json('GET', `${this.listPath}/members/${encodeURIComponent(member.id)}/tags`, { query: { count: 1000, offset } });
      const tags = Array.isArray(body.tags) ? (body.tags as Array<{ name?: unknown }>) : [];
      for (const tag of tags) if (typeof tag.name === 'string') names.push(tag.name);
      if (tags.length === 0 || names.length >= (typeof body.total_items === 'number' ? body.total_items : names.length)) break;
    }
    return memberRecord(member, names);
  }
}

function hasAddress(fields: Record<string, unknown>): boolean {
  const merge = fields.merge_fields;
  return typeof merge === 'object' && merge !== null && Object.values(merge).some((value) => typeof value === 'object' && value !== null);
}
