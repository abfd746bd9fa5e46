import Sqlite from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Runtime } from '../app';
import { ensurePrivateFile, SQLITE_COMPANIONS } from '../credentials/privateFiles';
import { describeIssue } from '../flows/flowLoader';
import { repositoryPath } from '../repository';
import { seededRandom } from '../seededRandom';

export const DEMO_FLOW_ID = 'leads';
const MARKER = 'demo-installed';

const firstNames = ['Ada', 'Ben', 'Chloe', 'Dmitri', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Luca', 'Maya', 'Noah', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Umar', 'Vera', 'Wen', 'Yusuf', 'Zoe'];
const lastNames = ['Abbott', 'Becker', 'Costa', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quispe', 'Rossi', 'Singh', 'Tanaka'];
/**
 * The SPEC §1 leads flow over the demo databases, with `name` left to a person so the inbox has a conflict. A flow
 * document like any other (leads.flow.json beside this file), read afresh on each call so callers may change theirs.
 */
export function demoFlow(): Record<string, unknown> {
  return JSON.parse(readFileSync(repositoryPath('runtime', 'demo', 'leads.flow.json'), 'utf8')) as Record<string, unknown>;
}

/** The lead statuses the demo data uses: the values the flow maps between the CRM's `status` and marketing's `stage`. */
function demoStatuses(): Array<{ crm: string; marketing: string }> {
  const flow = demoFlow() as { nodes: Array<{ type: string; config: { fields?: Array<{ left: string; values?: Array<{ left: string; right: string }> }> } }> };
  const status = flow.nodes.flatMap((node) => (node.type === 'mapping' ? (node.config.fields ?? []) : [])).find((field) => field.left === 'status');
  return (status?.values ?? []).map((value) => ({ crm: value.left, marketing: value.right }));
}

export interface DemoData {
  crmLeads: number;
  marketingContacts: number;
  overlapping: number;
}

/**
 * Writes the two demo databases: CRM leads and marketing contacts, some of them the same person (by email, in a
 * different case), one of those with a differently spelled name — the conflict waiting in the inbox.
 */
export function writeDemoDatabases(dataDir: string, now = new Date()): DemoData {
  const statuses = demoStatuses();
  const random = seededRandom(20261126);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const stamp = (daysAgo: number) => new Date(now.getTime() - daysAgo * 86_400_000).toISOString();

  // Customer records, even made-up ones, are private to the data folder's owner like the state beside them.
  for (const file of ['crm.db', 'marketing.db']) ensurePrivateFile(join(dataDir, file), SQLITE_COMPANIONS);
  const crm = new Sqlite(join(dataDir, 'crm.db'));
  const marketing = new Sqlite(join(dataDir, 'marketing.db'));
  try {
    // These are the demo's own files, so it picks their journal mode (the connector leaves a database's alone): in WAL,
    // a person editing them with another tool never waits for, or is refused by, a poll that is reading.
    crm.pragma('journal_mode = WAL');
    marketing.pragma('journal_mode = WAL');
    // AUTOINCREMENT: without it SQLite gives a deleted last row's id to the next row, and the sync would take a person
    // added after a delete for the one deleted (docs/connectors.md, sqlite).
    crm.exec(`CREATE TABLE leads (id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT, last_name TEXT, email TEXT, status TEXT, amount REAL, updated_at TEXT NOT NULL, sync_tag TEXT);
              CREATE INDEX leads_updated_at ON leads (updated_at);`);
    marketing.exec(`CREATE TABLE contacts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, email TEXT, stage TEXT, deal_value REAL, modified_at TEXT NOT NULL, sync_tag TEXT);
                    CREATE INDEX contacts_modified_at ON contacts (modified_at);`);
    const insertLead = crm.prepare('INSERT INTO leads (first_name, last_name, email, status, amount, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const insertContact = marketing.prepare('INSERT INTO contacts (name, email, stage, deal_value, modified_at) VALUES (?, ?, ?, ?, ?)');

    const crmLeads = 300;
    const marketingOnly = 140;
    const overlapping = 60;
    const people: Array<{ first: string; last: string; email: string; status: { crm: string; marketing: string }; amount: number }> = [];
    for (let index = 0; index < crmLeads + marketingOnly; index += 1) {
      const first = pick(firstNames);
      const last = pick(lastNames);
      people.push({
        first,
        last,
        email: `${first}.${last}.${index}@example.com`.toLowerCase(),
        status: pick(statuses),
        amount: Math.round(random() * 200) * 250,
      });
    }
    crm.transaction(() => {
      people.slice(0, crmLeads).forEach((person, index) => {
        insertLead.run(person.first, person.last, person.email, person.status.crm, person.amount, stamp(30 - (index % 30)));
      });
    })();
    marketing.transaction(() => {
      // The last `overlapping` CRM leads are also marketing contacts: matched by email, whatever its case.
      people.slice(crmLeads - overlapping, crmLeads).forEach((person, index) => {
        const conflicting = index === 0;
        // One person's name was edited differently on each side: `name` is manual, so it waits in the inbox.
        const name = conflicting ? `${person.first}a ${person.last}` : `${person.first} ${person.last}`;
        insertContact.run(name, person.email.toUpperCase(), person.status.marketing, person.amount, stamp(conflicting ? 0.01 : 20));
      });
      people.slice(crmLeads).forEach((person, index) => {
        insertContact.run(`${person.first} ${person.last}`, person.email, person.status.marketing, person.amount, stamp(25 - (index % 25)));
      });
    })();
    return { crmLeads, marketingContacts: overlapping + marketingOnly, overlapping };
  } finally {
    crm.close();
    marketing.close();
  }
}

/**
 * On a data folder's first start, installs the demo: the two databases and the leads flow, deployed. Returns false
 * when there is nothing to do (installed before, flows already stored, or demo files in the way).
 */
export async function installDemoIfFirstStart(runtime: Runtime, dataDir: string, logger: Logger): Promise<boolean> {
  const marker = join(dataDir, MARKER);
  if (existsSync(marker) || runtime.deps.catalog.list().length > 0) return false;
  if (existsSync(join(dataDir, 'crm.db')) || existsSync(join(dataDir, 'marketing.db'))) {
    logger.warn({ dataDir }, 'demo not installed: crm.db or marketing.db already exists in the data folder');
    return false;
  }
  const data = writeDemoDatabases(dataDir);
  const loaded = runtime.deps.loadFlow(demoFlow());
  if (!loaded.ok) throw new Error(`the demo flow does not validate: ${loaded.issues.map(describeIssue).join('; ')}`);
  await runtime.deps.catalog.create(loaded.document, loaded.bytes);
  await runtime.deps.catalog.setDeployed(DEMO_FLOW_ID, true);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  logger.info({ flowId: DEMO_FLOW_ID, ...data }, 'demo installed');
  return true;
}
