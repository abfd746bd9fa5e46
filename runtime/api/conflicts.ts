import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { conflictFlowId } from '../db/statusQueries';
import { EngineInputError, type ConflictResolution, type ConflictView } from '../engine/types';
import { groupInto } from '../util/collections';
import type { AppDeps } from './deps';
import { fail, requireJson } from './errors';
import { RecordNamer } from './recordNames';
import { apiApp, bearer, errorResponse, jsonBody, jsonResponse } from './routes';
import { conflictIdParams, conflictResolutionSchema, conflictsQuerySchema, conflictViewSchema } from './schemas';
import { listConflicts } from '../db/conflictQueries';

/** Each conflict with the name of the record it is about, through the triggers that take part in it. */
async function withRecordNames(deps: AppDeps, conflicts: ConflictView[]): Promise<Array<ConflictView & { recordName: string | null }>> {
  const byFlow = new Map<string, ConflictView[]>();
  for (const conflict of conflicts) groupInto(byFlow, conflict.flowId, conflict);
  const names = new Map<string, string>();
  for (const [flowId, ofFlow] of byFlow) {
    const namer = new RecordNamer(deps.db, deps.catalog.get(flowId)?.document ?? null);
    const found = await namer.names(ofFlow.flatMap((conflict) => (conflict.entityId ? [{ entityId: conflict.entityId, sides: Object.keys(conflict.sides) }] : [])));
    for (const [entityId, name] of found) names.set(entityId, name);
  }
  return conflicts.map((conflict) => ({ ...conflict, recordName: conflict.entityId ? (names.get(conflict.entityId) ?? null) : null }));
}

const inputStatus: Record<string, 404 | 409> = { not_found: 404, already_resolved: 409 };

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['conflicts'],
  security: bearer,
  summary: 'Conflicts with base and each side’s value; open ones unless status says otherwise',
  request: { query: conflictsQuerySchema },
  responses: {
    200: jsonResponse('Conflicts', z.array(conflictViewSchema)),
    400: errorResponse('Bad status'),
    404: errorResponse('No such flow'),
  },
});

const resolveRoute = createRoute({
  method: 'post',
  path: '/{id}/resolve',
  tags: ['conflicts'],
  security: bearer,
  middleware: requireJson,
  summary: 'Resolve with {"side":"<trigger id>"} or {"value":...}; a deployed flow applies it at once',
  request: { params: conflictIdParams, body: jsonBody(conflictResolutionSchema) },
  responses: {
    200: jsonResponse('Resolved', conflictViewSchema),
    400: errorResponse('Not a resolution'),
    404: errorResponse('No such conflict'),
    409: errorResponse('Already resolved'),
    422: errorResponse('The resolution does not fit this conflict (unknown side, a kind that needs a side)'),
  },
});

/** The conflict inbox: list a flow's conflicts with base and each side's value, resolve one. Mounted at /api/conflicts. */
export function conflictsApi(deps: AppDeps): OpenAPIHono {
  const { engine, runner, catalog, db, logger } = deps;
  const app = apiApp();

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    if (query.flow !== undefined && !catalog.get(query.flow)) {
      return fail(c, 404, 'not_found', `no flow "${query.flow}": list the flows with GET /api/flows`, 'flow');
    }
    // The inbox is what needs a decision, so open conflicts unless asked otherwise.
    const status = query.status ?? 'open';
    const conflicts = await listConflicts(db, { ...(query.flow !== undefined ? { flowId: query.flow } : {}), ...(status === 'all' ? {} : { status }) });
    return c.json(await withRecordNames(deps, conflicts), 200);
  });

  app.openapi(resolveRoute, async (c) => {
    const { id } = c.req.valid('param');
    const flowId = await conflictFlowId(db, id);
    if (flowId === undefined) return fail(c, 404, 'not_found', `no conflict "${id}": list them with GET /api/conflicts?flow=ID`, 'id');
    const resolution = c.req.valid('json') as ConflictResolution;
    try {
      // Under the flow's lock, so a pass in progress cannot merge the entity while the decision lands.
      const conflict = await runner.exclusive(flowId, () => engine.resolveConflict(id, resolution));
      logger.info({ flowId, conflictId: id }, 'conflict resolved');
      const entry = catalog.get(flowId);
      if (entry?.deployed && entry.document) {
        // The decision is written out by the next pass; a deployed flow gets it now rather than at its next tick.
        runner.runPass(flowId, { reason: 'manual' }).catch((error: unknown) => logger.error({ flowId, err: error }, 'pass after a resolution failed'));
      }
      const [named] = await withRecordNames(deps, [conflict]);
      return c.json(named, 200);
    } catch (error) {
      if (error instanceof EngineInputError) {
        return fail(c, inputStatus[error.code] ?? 422, error.code, error.message, error.code === 'unknown_side' ? 'side' : '');
      }
      throw error;
    }
  });

  return app;
}
