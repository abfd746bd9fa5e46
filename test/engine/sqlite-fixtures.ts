import Sqlite from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';

/** A fresh folder with the leads flow of SPEC §1 and its two SQLite databases, as a user would have them. */
export function leadsWorkspace(): { dir: string; flow: FlowDocument; flowPath: string; crm: Sqlite.Database; mkt: Sqlite.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-leads-'));
  const flowPath = join(dir, 'leads.flow.json');
  copyFileSync(new URL('../fixtures/flows/leads.flow.json', import.meta.url), flowPath);
  const crm = new Sqlite(join(dir, 'crm.db'));
  crm.exec(`create table leads (id integer primary key, first_name text, last_name text, email text, status text, amount real, updated_at text)`);
  const mkt = new Sqlite(join(dir, 'marketing.db'));
  mkt.exec(`create table contacts (id text primary key, name text, email text, stage text, deal_value real, modified_at text)`);
  return { dir, flow: loadValid(readFileSync(flowPath, 'utf8')), flowPath, crm, mkt };
}

/** Parses and validates a flow, failing loudly: fixtures must be valid. */
export function loadValid(text: string): FlowDocument {
  const { document, issues } = loadFlow(JSON.parse(text));
  if (!document) throw new Error(`fixture is invalid: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return document;
}

let clock = 0;
/** Strictly increasing ISO timestamps of now, for out-of-band edits, as another user of the system would make. */
export function tick(): string {
  clock = Math.max(Date.now(), clock + 1);
  return new Date(clock).toISOString();
}
