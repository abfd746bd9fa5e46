import type { NodeDefinition } from '../types';
import type { IssueList, Owner } from './issues';
import { errorMessage, type PathSegment } from './messages';
import { isRecord } from './values';

// Bringing an older document up to date: whole-document migrations by flow version, then each node's config by its
// type's typeVersion. A migration that is missing or fails is reported where it applies; the input is never changed.

/** Upgrades a whole document from one flow version to the next; `documentMigrations[i]` takes version i+1 to i+2. */
export type DocumentMigration = (document: Record<string, unknown>) => unknown;

/** Ordered document migrations. Append one whenever FLOW_VERSION goes up; never edit one that has shipped. */
export const documentMigrations: readonly DocumentMigration[] = [];

/** The document migrated from flow version `from` to `to`, or null after reporting why it cannot be. */
export function migrateDocument(
  input: Record<string, unknown>,
  from: number,
  to: number,
  migrations: readonly DocumentMigration[],
  issues: IssueList,
): Record<string, unknown> | null {
  let current: Record<string, unknown>;
  try {
    // Migrations may be written carelessly; the caller's object stays as it was.
    current = structuredClone(input);
  } catch (error) {
    issues.add([], `cannot be migrated from flow version ${from} (${errorMessage(error)}): simplify the document`);
    return null;
  }
  for (let version = from; version < to; version += 1) {
    const migration = migrations[version - 1];
    const step = `from flow version ${version} to ${version + 1}`;
    if (!migration) {
      issues.add(['version'], `this Syncline has no migration ${step}: open the document with the Syncline that made it`);
      return null;
    }
    let next: unknown;
    try {
      next = migration(current);
    } catch (error) {
      issues.add(['version'], `migrating ${step} failed (${errorMessage(error)}): open the document with the Syncline that made it and export it again`);
      return null;
    }
    if (!isRecord(next)) {
      issues.add(['version'], `migrating ${step} did not give a document: open it with the Syncline that made it and export it again`);
      return null;
    }
    current = { ...next, version: version + 1 };
  }
  return current;
}

/** What `migrateConfig` returns when it reported a migration that could not run. */
export const failedMigration = Symbol('failed migration');

/** A node's config migrated from typeVersion `from` to its definition's, or `failedMigration` after reporting why not. */
export function migrateConfig(
  config: unknown,
  from: number,
  definition: NodeDefinition,
  at: PathSegment[],
  owner: Owner,
  issues: IssueList,
): unknown {
  let current: unknown;
  try {
    // Migrations may be written carelessly; the caller's config stays as it was.
    current = structuredClone(config);
  } catch (error) {
    issues.add(at, `cannot be migrated (${errorMessage(error)}): simplify it`, owner);
    return failedMigration;
  }
  for (let version = from; version < definition.typeVersion; version += 1) {
    const migration = definition.migrations[version - 1];
    const step = `${definition.type} node from version ${version} to ${version + 1}`;
    if (!migration) {
      issues.add(at, `this Syncline has no migration for a ${step}: open the flow with the Syncline that made it`, owner);
      return failedMigration;
    }
    try {
      current = migration(current);
    } catch (error) {
      issues.add(at, `migrating this ${step} failed (${errorMessage(error)}): fix the config by hand or open the flow with the Syncline that made it`, owner);
      return failedMigration;
    }
  }
  return current;
}
