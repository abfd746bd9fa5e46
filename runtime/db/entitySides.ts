/**
 * The state of an entity's links, kept in its row (`entities.sides`): node id → record id → what the link says beyond
 * its narrow `links` row. One row per entity was measured against a row per link (bench/stateDesign.mjs, engine notes,
 * ninth round): a change to a linked record rewrites its entity only, where it rewrote the entity and a link per side.
 *
 * Two rows say where a link is: the narrow `links` row (found by record, counted by side) and the entry here. Every
 * write of a link goes through runtime/db/queries.ts, which changes both in one transaction, so an entry exists exactly
 * where a `links` row names the entity. A missing entry reads as a link with nothing synced yet; it never loses a link.
 */
import type { LinkRow, LinkState } from './schema';

/** Node id → record id → the link's state. Nulls are left out of the stored JSON: most links have no written mark. */
export type EntitySides = Record<string, Record<string, StoredLink>>;

/** A link's state as stored: `LinkState` without its null fields, and the tombstone flag of its narrow row. */
type StoredLink = Partial<LinkState> & { updated_at: string; deleted?: 1 };

export function parseSides(json: string | null | undefined): EntitySides {
  if (!json) return {};
  const parsed = JSON.parse(json) as unknown;
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as EntitySides) : {};
}

export function serializeSides(sides: EntitySides): string {
  return JSON.stringify(sides);
}

/** The link of one record as the engine reads it, from its narrow row's fields and its entity's sides. */
export function linkFromSides(sides: EntitySides, narrow: { flow_id: string; node_id: string; record_id: string; entity_id: string; deleted: number }): LinkRow {
  const stored = sides[narrow.node_id]?.[narrow.record_id];
  return {
    flow_id: narrow.flow_id,
    node_id: narrow.node_id,
    record_id: narrow.record_id,
    entity_id: narrow.entity_id,
    deleted: narrow.deleted,
    shadow: stored?.shadow ?? null,
    shadow_hash: stored?.shadow_hash ?? null,
    version: stored?.version ?? null,
    updated_at: stored?.updated_at ?? '',
    written_tag: stored?.written_tag ?? null,
    written_hash: stored?.written_hash ?? null,
  };
}

/** Every link an entity's sides hold, in node then insertion order. */
export function linksOfSides(entity: { id: string; flow_id: string; sides: string }): LinkRow[] {
  const sides = parseSides(entity.sides);
  const links: LinkRow[] = [];
  for (const [nodeId, records] of Object.entries(sides)) {
    for (const [recordId, stored] of Object.entries(records)) {
      links.push(linkFromSides(sides, { flow_id: entity.flow_id, node_id: nodeId, record_id: recordId, entity_id: entity.id, deleted: stored.deleted ?? 0 }));
    }
  }
  return links;
}

/** The stored entry of a link: its state with nulls left out. */
export function storedLink(row: LinkRow): StoredLink {
  const stored: StoredLink = { updated_at: row.updated_at };
  if (row.shadow !== null) stored.shadow = row.shadow;
  if (row.shadow_hash !== null) stored.shadow_hash = row.shadow_hash;
  if (row.version !== null) stored.version = row.version;
  if (row.written_tag !== null) stored.written_tag = row.written_tag;
  if (row.written_hash !== null) stored.written_hash = row.written_hash;
  if (row.deleted) stored.deleted = 1;
  return stored;
}

/** Sets a link's entry. */
export function setLink(sides: EntitySides, nodeId: string, recordId: string, stored: StoredLink): void {
  (sides[nodeId] ??= {})[recordId] = stored;
}

/** The entry of a link, if its entity holds one. */
export function storedOf(sides: EntitySides, nodeId: string, recordId: string): StoredLink | undefined {
  return sides[nodeId]?.[recordId];
}

/** Removes a link's entry; whether there was one. */
export function removeLink(sides: EntitySides, nodeId: string, recordId: string): boolean {
  const records = sides[nodeId];
  if (!records || !(recordId in records)) return false;
  delete records[recordId];
  if (Object.keys(records).length === 0) delete sides[nodeId];
  return true;
}
