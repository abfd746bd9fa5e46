import Sqlite from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FlowDocument } from '../../../nodes/index';
import { connectorRegistry } from '../../../runtime/connectors/index';
import { openStateDb, type StateDb } from '../../../runtime/db/index';
import { SyncEngine, type PassResult } from '../../../runtime/engine/index';
import { loadValid, tick } from '../../engine/sqlite-fixtures';
import { testAccess } from '../../support/access';
import { createTestSchema, databaseUrl, type TestSchema } from './postgres';

/** A lead as the CRM holds it. */
export interface Lead {
  first_name: string;
  last_name: string;
  email: string;
  status: string;
  amount: number | null;
}

/** A contact as the marketing API holds it (without id and bookkeeping). */
export interface Contact {
  name: string;
  email: string;
  stage: string;
  deal_value: number | null;
}

/** The CRM side of the leads flow, on whichever database a test puts it. */
export interface CrmSide {
  trigger: Record<string, unknown>;
  baseDir: string;
  insert(lead: Lead): Promise<void>;
  update(email: string, changes: Partial<Lead>): Promise<void>;
  remove(email: string): Promise<void>;
  /** Every lead, by email. */
  all(): Promise<Lead[]>;
  close(): Promise<void>;
}

/** The CRM in a SQLite file, as in SPEC §1. */
export function sqliteCrm(): CrmSide {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-crm-'));
  const db = new Sqlite(join(dir, 'crm.db'));
  db.exec('create table leads (id integer primary key, first_name text, last_name text, email text, status text, amount real, updated_at text)');
  return {
    trigger: { connector: 'sqlite', connection: { file: 'crm.db' }, collection: 'leads', key: 'id', updatedAt: 'updated_at', detect: { mode: 'poll', intervalMs: 5000 } },
    baseDir: dir,
    insert: async (lead) => {
      db.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)').run(lead.first_name, lead.last_name, lead.email, lead.status, lead.amount, tick());
    },
    update: async (email, changes) => {
      const names = Object.keys(changes);
      const info = db
        .prepare(`update leads set ${names.map((name) => `${name} = ?`).join(', ')}, updated_at = ? where email = ?`)
        .run(...names.map((name) => changes[name as keyof Lead]), tick(), email);
      if (info.changes !== 1) throw new Error(`no lead ${email}`);
    },
    remove: async (email) => void db.prepare('delete from leads where email = ?').run(email),
    all: async () => db.prepare('select first_name, last_name, email, status, amount from leads order by email').all() as Lead[],
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CRM in a PostgreSQL table of a schema of its own. */
export async function postgresCrm(): Promise<CrmSide & { schema: TestSchema }> {
  const schema = await createTestSchema('syncline_leads');
  const t = `"${schema.name}".leads`;
  await schema.query(`CREATE TABLE ${t} (id serial PRIMARY KEY, first_name text, last_name text, email text, status text, amount numeric(12, 2), updated_at timestamptz)`);
  return {
    schema,
    trigger: { connector: 'postgres', connection: { url: databaseUrl }, collection: `${schema.name}.leads`, key: 'id', updatedAt: 'updated_at', detect: { mode: 'poll', intervalMs: 5000 } },
    baseDir: '/',
    insert: async (lead) => {
      await schema.query(`INSERT INTO ${t} (first_name, last_name, email, status, amount, updated_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp())`, [
        lead.first_name,
        lead.last_name,
        lead.email,
        lead.status,
        lead.amount,
      ]);
    },
    update: async (email, changes) => {
      const names = Object.keys(changes);
      const rows = await schema.query(`UPDATE ${t} SET ${names.map((name, index) => `${name} = $${index + 1}`).join(', ')}, updated_at = clock_timestamp() WHERE email = $${names.length + 1} RETURNING 1`, [
        ...names.map((name) => changes[name as keyof Lead]),
        email,
      ]);
      if (rows.length !== 1) throw new Error(`no lead ${email}`);
    },
    remove: async (email) => void (await schema.query(`DELETE FROM ${t} WHERE email = $1`, [email])),
    all: async () =>
      (await schema.query<Lead & { amount: string | number | null }>(`SELECT first_name, last_name, email, status, amount::float8 AS amount FROM ${t} ORDER BY email`)).map((row) => ({
        ...row,
        amount: row.amount === null ? null : Number(row.amount),
      })),
    close: () => schema.drop(),
  };
}

/** The http trigger for a json-server collection of contacts, as docs/connectors.md shows it. */
export function marketingTrigger(baseUrl: string, collection: string, connection: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connector: 'http',
    connection: {
      baseUrl,
      list: {
        pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' },
        pageSize: 50,
        updatedSinceParam: 'updatedAt_gte',
        tagParam: 'syncline_tag',
        totalHeader: 'X-Total-Count',
        query: { _sort: 'updatedAt,id', _order: 'asc,asc' },
      },
      stampUpdatedAt: true,
      fields: { name: 'string', email: 'string', stage: 'string', deal_value: 'number' },
      ...connection,
    },
    collection,
    key: 'id',
    updatedAt: 'updatedAt',
    tagColumn: 'syncline_tag',
    detect: { mode: 'poll', intervalMs: 5000 },
  };
}

/** The SPEC §1 leads flow with these two triggers in place of its SQLite ones. */
export function leadsFlow(crm: Record<string, unknown>, mkt: Record<string, unknown>): FlowDocument {
  const document = JSON.parse(readFileSync(new URL('../../fixtures/flows/leads.flow.json', import.meta.url), 'utf8')) as { nodes: Array<{ id: string; config: unknown }> };
  for (const node of document.nodes) {
    if (node.id === 'crm') node.config = crm;
    if (node.id === 'mkt') node.config = mkt;
  }
  return loadValid(JSON.stringify(document));
}

/** The real engine on an in-memory state database, with the real connector registry and these stored credentials. */
export async function leadsEngine(
  retry = { attempts: 3, baseMs: 5, maxWaitMs: 2000 },
  credentials: Record<string, string> = {},
): Promise<{ engine: SyncEngine; db: StateDb }> {
  const db = await openStateDb(':memory:');
  const resolveCredential = async (name: string): Promise<string> => {
    const value = credentials[name];
    if (value === undefined) throw new Error(`credential "${name}" is not stored`);
    return value;
  };
  // The CRM files live in temporary folders, the marketing API (json-server) on 127.0.0.1: an operator would allow both.
  const access = testAccess({ dir: tmpdir(), hosts: ['127.0.0.1'] });
  return { engine: new SyncEngine({ db, connectors: connectorRegistry, retry, resolveCredential, access }), db };
}

const stageOf: Record<string, string> = { open: 'Open', 'closed-lost': 'Closed Lost' };

/** The contact a lead becomes on the way through the flow. */
export function contactFor(lead: Lead): Contact {
  return { name: `${lead.first_name} ${lead.last_name}`, email: lead.email.trim().toLowerCase(), stage: stageOf[lead.status] ?? `?${lead.status}`, deal_value: lead.amount };
}

/**
 * Both sides hold the same people: one contact per lead and one lead per contact, by email, none twice, with names
 * and stages that agree. deal_value only flows forward, so it matches the lead's amount where the lead came first.
 */
export function expectConverged(leads: Lead[], contacts: Array<Record<string, unknown>>, expectedEmails: string[]): void {
  const leadEmails = leads.map((lead) => lead.email);
  const contactEmails = contacts.map((contact) => String(contact['email']));
  expect(new Set(leadEmails).size, `a lead was created twice: ${leadEmails.join(', ')}`).toBe(leadEmails.length);
  expect(new Set(contactEmails).size, `a contact was created twice: ${contactEmails.join(', ')}`).toBe(contactEmails.length);
  expect([...leadEmails].sort()).toEqual([...expectedEmails].sort());
  expect([...contactEmails].sort()).toEqual([...expectedEmails].sort());
  for (const lead of leads) {
    const contact = contacts.find((candidate) => candidate['email'] === lead.email);
    expect(contact, `no contact for ${lead.email}`).toBeDefined();
    const expected = contactFor(lead);
    expect({ name: contact?.['name'], stage: contact?.['stage'] }).toEqual({ name: expected.name, stage: expected.stage });
  }
}

/** Runs passes until one writes nothing (at most `max`); returns them all. */
export async function runUntilQuiet(run: () => Promise<PassResult>, max: number): Promise<PassResult[]> {
  const passes: PassResult[] = [];
  for (let i = 0; i < max; i++) {
    const result = await run();
    passes.push(result);
    const { created, updated, deleted, failed } = result.summary;
    if (result.status === 'ok' && created + updated + deleted + failed === 0) return passes;
  }
  throw new Error(`no quiet pass after ${max}: ${JSON.stringify(passes.map((pass) => ({ status: pass.status, error: pass.error, ...pass.summary })))}`);
}
