/**
 * The links a state holds, whole (narrow row and the state its entity keeps, runtime/db/entitySides.ts), for tests that
 * check or set what a link says without going through a pass.
 */
import { linkFromSides, parseSides, serializeSides, setLink, storedLink } from '../../runtime/db/entitySides';
import { selectLinks, type Db } from '../../runtime/db/queries';
import type { LinkRow, LinkState } from '../../runtime/db/schema';

/** Every link of the state, or of one side, ordered by side and record. */
export async function storedLinks(db: Db, where: { flowId?: string; nodeId?: string } = {}): Promise<LinkRow[]> {
  let query = selectLinks(db);
  if (where.flowId !== undefined) query = query.where('links.flow_id', '=', where.flowId);
  if (where.nodeId !== undefined) query = query.where('links.node_id', '=', where.nodeId);
  const rows = await query.orderBy('links.node_id').orderBy('links.record_id').execute();
  return rows.map((row) => linkFromSides(parseSides(row.sides), row));
}

/** Changes the state of every link `change` answers for (null leaves a link as it is), in their entities' rows. */
export async function changeStoredLinks(db: Db, change: (link: LinkRow) => Partial<LinkState> | null): Promise<void> {
  const entities = await db.selectFrom('entities').select(['id', 'sides']).execute();
  const links = await storedLinks(db);
  for (const entity of entities) {
    const sides = parseSides(entity.sides);
    let changed = false;
    for (const link of links.filter((candidate) => candidate.entity_id === entity.id)) {
      const patch = change(link);
      if (!patch) continue;
      setLink(sides, link.node_id, link.record_id, storedLink({ ...link, ...patch }));
      changed = true;
    }
    if (changed) await db.updateTable('entities').set({ sides: serializeSides(sides) }).where('id', '=', entity.id).execute();
  }
}
