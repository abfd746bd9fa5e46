/**
 * The `employees` collection: every employee of one BambooHR company, Active and Inactive, with the chosen fields.
 * The key is the employee id, the version `lastChanged`. Listed through Get Changed Employee IDs and custom reports
 * (changes.ts); written through Create and Update Employee (writes.ts).
 *
 * A terminated employee is not deleted: BambooHR keeps them, with status Inactive, employment status "Terminated" and
 * a termination date, and reading one gives a live record that says so. An employee deleted in BambooHR's screens
 * (rare: a record entered by mistake) comes through the change feed as a delete.
 */
import { ChangeFeed } from '../saas/changeFeed';
import type { CollectionDescription, Connector, ConnectorCapabilities, ListPage, ListPosition, SourceRecord, WriteOp, WriteResult } from '../types';
import { ConnectorError } from '../types';
import type { BambooHrClient } from './client';
import { bambooLookbackMs, employeeId, employeesChangedSince, reportEmployeesById } from './changes';
import type { BambooHrConnection } from './config';
import { FieldCatalog } from './fields';
import { writeEmployees } from './writes';

export const employeesCollection = 'employees';

export class BambooHrEmployees implements Connector {
  readonly capabilities: ConnectorCapabilities = {
    conditionalWrites: false,
    tags: false,
    incremental: true,
    // Deletes come through the change feed; nothing needs a scan of every id.
    fullScan: false,
    deletes: 'cannot',
    lookbackMs: bambooLookbackMs,
  };
  private readonly listing: ChangeFeed;
  private catalog: Promise<FieldCatalog> | null = null;

  constructor(
    private readonly client: BambooHrClient,
    private readonly connection: BambooHrConnection,
    private readonly onClose: () => void,
  ) {
    this.listing = new ChangeFeed({ lookbackMs: bambooLookbackMs, changedSince: (since) => employeesChangedSince(client, connection.fields, since) });
  }

  listSince(position: ListPosition, limit: number): Promise<ListPage> {
    return this.listing.listSince(position, limit);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const wanted = [...new Set(ids.map(employeeId).filter((id): id is number => id !== null))];
    const found = new Map<string, SourceRecord>();
    if (wanted.length === 0) return found;
    for (const record of await reportEmployeesById(this.client, this.connection.fields, wanted)) if (!found.has(record.id)) found.set(record.id, record);
    return found;
  }

  write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    return writeEmployees(this.client, ops, () => this.fieldCatalog());
  }

  /** The company's fields, read at the first write and kept; read again after a failed read. */
  private fieldCatalog(): Promise<FieldCatalog> {
    this.catalog ??= FieldCatalog.load(this.client).catch((caught: unknown) => {
      this.catalog = null;
      throw caught;
    });
    return this.catalog;
  }

  // eslint-disable-next-line require-yield
  async *scanIds(): AsyncIterable<string[]> {
    throw new ConnectorError('bamboohr employees are not scanned: deleted employees come through Get Changed Employee IDs');
  }

  async describe(): Promise<CollectionDescription[]> {
    return describeEmployees(this.client, this.connection);
  }

  async close(): Promise<void> {
    this.onClose();
  }
}

/** The one collection and its chosen fields, typed from the company's field list. */
export async function describeEmployees(client: BambooHrClient, connection: BambooHrConnection): Promise<CollectionDescription[]> {
  const catalog = await FieldCatalog.load(client);
  return [{ name: employeesCollection, fields: catalog.describe(connection.fields) }];
}
