import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { FLOW_ID_PATTERN } from '../../nodes';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { loadFlow } from '../../nodes/flow/load';
import { deleteDraft, getDraft, getVersion, latestVersions, listDrafts, listVersions, saveDraft } from '../db/flowQueries';
import { flowHealth, type DeletedCounts } from '../db/overviewQueries';
import { parseStored } from '../flows/flowCatalog';
import type { AppDeps } from './deps';
import { fail, parseJsonText, type ErrorResponse } from './errors';
import { findFlow } from './flows';
import { apiApp, bearer, documentedJsonBody, errorResponse, jsonResponse } from './routes';
import {
  draftBodySchema,
  draftSavedSchema,
  flowDraftStateSchema,
  flowIdParams,
  overviewSchema,
  versionNumberParams,
  versionSchema,
  versionSummarySchema,
} from './schemas';

/** The name a draft gives its flow, when it gives one. */
function draftName(bytes: string): string | null {
  const document = parseStored(bytes) as { name?: unknown } | null;
  return typeof document?.name === 'string' ? document.name : null;
}

const tag = { tags: ['flows'], security: bearer };
const notFound = errorResponse('No such flow');

const overviewRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/overview',
  summary: 'Every flow and draft with its state (draft, deployed, paused, changed since deploy) and health (last pass, records in sync, changes in the last hour, failing records, open conflicts)',
  responses: { 200: jsonResponse('The flows', overviewSchema) },
});

const getDraftRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/flows/{id}/draft',
  summary: 'A flow’s draft, its stored document and its last deployed version',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('The draft state', flowDraftStateSchema), 404: errorResponse('No flow and no draft with this id') },
});

const saveDraftRoute = createRoute({
  ...tag,
  method: 'put',
  path: '/flows/{id}/draft',
  summary: 'Save the editor’s work in progress (any flow document, valid or not); it does not run until deployed',
  request: { params: flowIdParams, body: documentedJsonBody(draftBodySchema) },
  responses: {
    200: jsonResponse('Saved', draftSavedSchema),
    400: errorResponse('Not a JSON object with an id'),
    422: errorResponse('The id is not a flow id, or not the one in the address'),
  },
});

const discardDraftRoute = createRoute({
  ...tag,
  method: 'delete',
  path: '/flows/{id}/draft',
  summary: 'Discard a flow’s draft',
  request: { params: flowIdParams },
  responses: { 204: { description: 'Discarded' }, 404: errorResponse('No draft') },
});

const versionsRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/flows/{id}/versions',
  summary: 'The versions a flow was deployed with, newest first',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('Versions', z.array(versionSummarySchema)), 404: notFound },
});

const versionRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/flows/{id}/versions/{version}',
  summary: 'One deployed version’s document',
  request: { params: versionNumberParams },
  responses: { 200: jsonResponse('The version', versionSchema), 404: errorResponse('No such flow or version') },
});

/**
 * Drafts, deployed versions and the flow list (mounted at /api). A draft is the editor's work in progress, saved as
 * it is made; it never runs: what runs changes on deploy, which records it as the flow's next version.
 */
export function draftsApi(deps: AppDeps): OpenAPIHono {
  const { db, catalog, logger } = deps;
  const now = () => new Date().toISOString();
  const deletedCounts: DeletedCounts = new Map();
  const app = apiApp();

  app.openapi(overviewRoute, async (c) => {
    const entries = catalog.list();
    const [drafts, versions, health] = await Promise.all([
      listDrafts(db),
      latestVersions(db),
      flowHealth(
        db,
        entries.map((entry) => entry.id),
        new Date(),
        deletedCounts,
      ),
    ]);
    const draftsById = new Map(drafts.map((draft) => [draft.flowId, draft]));
    const flows = entries.map((entry) => {
      const version = versions.get(entry.id);
      const draft = draftsById.get(entry.id);
      return {
        id: entry.id,
        name: draft ? (draftName(draft.document) ?? entry.name) : entry.name,
        stored: true,
        deployed: entry.deployed,
        version: version ? { version: version.version, deployedAt: version.deployedAt } : null,
        draft: draft ? { savedAt: draft.savedAt, changed: draft.document !== (version?.document ?? entry.bytes) } : null,
        health: health.get(entry.id) ?? null,
      };
    });
    for (const draft of drafts) {
      if (catalog.get(draft.flowId)) continue;
      flows.push({
        id: draft.flowId,
        name: draftName(draft.document) ?? draft.flowId,
        stored: false,
        deployed: false,
        version: null,
        draft: { savedAt: draft.savedAt, changed: true },
        health: null,
      });
    }
    return c.json({ flows }, 200);
  });

  app.openapi(getDraftRoute, async (c) => {
    const { id } = c.req.valid('param');
    const entry = catalog.get(id);
    const [draft, version] = await Promise.all([getDraft(db, id), entry ? getVersion(db, id) : undefined]);
    if (!entry && !draft) return fail(c, 404, 'not_found', `no flow or draft "${id}": list them with GET /api/overview`, 'id');
    return c.json({
      id,
      deployed: entry?.deployed ?? false,
      stored: entry ? parseStored(entry.bytes) : null,
      draft: draft ? { document: parseStored(draft.document), savedAt: draft.savedAt } : null,
      version: version ? { version: version.version, deployedAt: version.deployedAt, document: parseStored(version.document) } : null,
    }, 200);
  });

  app.openapi(saveDraftRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!FLOW_ID_PATTERN.test(id)) {
      return fail(c, 422, 'invalid_id', `a draft is kept under its flow's id, and "${id}" is not one: 1 to 64 letters, digits, "-" and "_", starting with a letter or digit`, 'id');
    }
    const body = parseJsonText(c, await c.req.text());
    if (!body.ok) return body.response;
    const document = draftBodySchema.safeParse(body.value);
    if (!document.success) return fail(c, 400, 'invalid_body', 'a draft is a flow document: a JSON object with the flow\'s "id"', 'id');
    if (document.data.id !== id) {
      return fail(c, 422, 'id_mismatch', `the draft's id "${document.data.id}" is not "${id}": save it under its own id`, 'id');
    }
    // The bytes export would give, so a draft that is the deployed flow again compares equal to it.
    const bytes = serializeFlow(loadFlow(body.value).migrated);
    const savedAt = now();
    await saveDraft(db, id, bytes, savedAt);
    logger.debug({ flowId: id }, 'draft saved');
    return c.json({ id, savedAt }, 200);
  });

  app.openapi(discardDraftRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await deleteDraft(db, id))) return fail(c, 404, 'not_found', `flow "${id}" has no draft`, 'id');
    logger.info({ flowId: id }, 'draft discarded');
    return c.body(null, 204);
  });

  app.openapi(versionsRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json((await listVersions(db, entry.id)).map(({ version, deployedAt }) => ({ version, deployedAt })), 200);
  });

  app.openapi(versionRoute, async (c) => {
    const { id, version } = c.req.valid('param');
    const found = await getVersion(db, id, version);
    if (!found) return versionNotFound(c, id, version);
    return c.json({ version: found.version, deployedAt: found.deployedAt, document: parseStored(found.document) }, 200);
  });

  return app;
}

function versionNotFound(c: Context, id: string, version: number): ErrorResponse<404> {
  return fail(c, 404, 'not_found', `flow "${id}" has no version ${version}: list them with GET /api/flows/${encodeURIComponent(id)}/versions`, 'version');
}
