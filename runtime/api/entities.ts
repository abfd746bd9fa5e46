import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { FlowRecord } from '../../nodes/types';
import { inspectEntity } from '../db/inspectorQueries';
import { compileFlow } from '../engine/graph';
import type { AppDeps } from './deps';
import { fail } from './errors';
import { findFlow } from './flows';
import { RecordNamer } from './recordNames';
import { apiApp, bearer, errorResponse, jsonResponse } from './routes';
import { entityInspectionSchema, entityParams, type EntityInspectionView } from './schemas';

const inspectRoute = createRoute({
  method: 'get',
  path: '/{id}/entities/{entityId}',
  tags: ['runs'],
  security: bearer,
  summary:
    'The record inspector: one linked record’s golden record, where each field’s value came from (side, run, value before, rule), each side’s record and shadow, its open conflicts and newest run-log lines',
  request: { params: entityParams },
  responses: {
    200: jsonResponse('The record', entityInspectionSchema),
    404: errorResponse('No such flow, or no such record in it'),
  },
});

const parseRecord = (text: string | null): FlowRecord | null => (text === null ? null : (JSON.parse(text) as FlowRecord));

/** The triggers of the flow's part that holds `linked` (sides the entity has a record on), in document order. */
function partTriggers(document: Parameters<typeof compileFlow>[0] | null, linked: readonly string[]): string[] {
  if (!document) return [];
  try {
    const part = compileFlow(document).parts.find((candidate) => candidate.triggers.some((trigger) => linked.includes(trigger.nodeId)));
    return part?.triggers.map((trigger) => trigger.nodeId) ?? [];
  } catch {
    // A stored flow that no longer compiles shows the sides the record is linked on only.
    return [];
  }
}

/** One linked record of a flow, explained (the record inspector). Mounted at /api/flows. */
export function entitiesApi(deps: AppDeps): OpenAPIHono {
  const app = apiApp();

  app.openapi(inspectRoute, async (c) => {
    const { id, entityId } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    const found = await inspectEntity(deps.db, entry.id, entityId);
    if (!found) return fail(c, 404, 'not_found', `no record "${entityId}" in flow "${entry.id}": its run history and conflicts name the records it holds`, 'entityId');

    const { provenance, golden } = found;
    const linkedOn = found.links.map((link) => link.node_id);
    const sides = [...new Set([...partTriggers(entry.document, linkedOn), ...linkedOn])];
    // Named as everywhere else: through the display field of the side it is seen on (recordNames.ts).
    const namer = new RecordNamer(deps.db, entry.document);
    const recordName = (await namer.names([{ entityId, sides: linkedOn }])).get(entityId) ?? null;
    const sideNames = new Map<string, string | null>();
    for (const nodeId of linkedOn) sideNames.set(nodeId, (await namer.names([{ entityId, sides: [nodeId] }])).get(entityId) ?? null);
    // A field held since the record was first linked (its sides disagreed from the start) is in no golden record yet.
    const held = found.openConflicts.flatMap((conflict) => (conflict.kind === 'field' && conflict.field ? [conflict.field] : []));
    const fieldNames = [...new Set([...Object.keys(golden), ...Object.keys(provenance), ...held])];

    const view: EntityInspectionView = {
      flowId: entry.id,
      entityId,
      recordName,
      deleted: found.entity.deleted === 1,
      quarantined: found.entity.quarantined === 1,
      createdAt: found.entity.created_at,
      updatedAt: found.entity.updated_at,
      fields: fieldNames.map((field) => {
        const from = provenance[field];
        return {
          field,
          value: golden[field] ?? null,
          provenance: from
            ? {
                side: from.side,
                runId: from.runId,
                runStartedAt: from.runId ? (found.runsStarted.get(from.runId) ?? null) : null,
                before: from.before ?? null,
                after: from.after ?? null,
                rule: from.rule,
                at: from.at,
                conflictId: from.conflictId ?? null,
              }
            : null,
        };
      }),
      sides: sides.map((nodeId) => {
        const link = found.links.find((candidate) => candidate.node_id === nodeId);
        return {
          nodeId,
          recordId: link?.record_id ?? null,
          recordName: link ? (sideNames.get(nodeId) ?? null) : null,
          gone: link?.deleted === 1,
          shadow: link ? parseRecord(link.shadow) : null,
        };
      }),
      conflicts: found.openConflicts.map((conflict) => ({ ...conflict, recordName })),
      log: found.log.map((line) => ({ ...line, recordName })),
    };
    return c.json(view, 200);
  });

  return app;
}
