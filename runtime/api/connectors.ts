import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { resolve } from 'node:path';
import { connectionOptionsSchema, type ConnectorSummary } from '../../nodes/trigger/connectionForm';
import { triggerConfigSchema, type TriggerConfig } from '../../nodes/trigger/schema';
import { accessRefusalOf } from '../connectors/network';
import { ConnectorError, RateLimitedError, type ConnectionContext, type ConnectorType, type ListPosition } from '../connectors/types';
import { MissingCredentialError } from '../credentials/store';
import type { AppDeps } from './deps';
import { fail, formatPath, requireJson, type ErrorResponse } from './errors';
import { apiApp, bearer, errorResponse, jsonBody, jsonResponse } from './routes';
import { connectionOptionsBodySchema, connectorListSchema, describeBodySchema, describeResultSchema, sampleBodySchema, sampleResultSchema } from './schemas';

/** Pages a sample reads at most, looking for records that are not deleted. */
const SAMPLE_PAGES = 5;

/** The summary `GET /api/connectors` lists for one connector type. */
export function connectorSummary(connector: ConnectorType): ConnectorSummary {
  return {
    type: connector.type,
    title: connector.title,
    ...(connector.connectionForm ? { connectionForm: connector.connectionForm } : {}),
    ownWebhooks: connector.webhook !== undefined,
  };
}

/** An error and the errors it was caused by, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current: unknown = error; current !== undefined && chain.length < 5; current = current instanceof Error ? current.cause : undefined) chain.push(current);
  return chain;
}

/** A connector's failure to reach its system, as a 4xx the editor shows beside the connection. */
function connectionFailure(c: Context, deps: AppDeps, error: unknown, what: string, connector: string): ErrorResponse<422 | 429> {
  const refusal = accessRefusalOf(error);
  if (refusal) return fail(c, 422, 'access_refused', `could not ${what}: ${refusal.message}`, 'connection');
  // Connectors wrap a failed credential lookup in words of their own; a credential that is not stored is still that.
  const missing = causes(error).find((cause) => cause instanceof MissingCredentialError);
  if (missing) return fail(c, 422, 'missing_credential', error instanceof Error ? error.message : String(missing), 'connection');
  if (error instanceof RateLimitedError) {
    c.header('retry-after', String(Math.max(1, Math.ceil((error.resumeAt.getTime() - Date.now()) / 1000))));
    return fail(c, 429, 'rate_limited', `could not ${what}: ${error.message}`, 'connection');
  }
  if (error instanceof ConnectorError) return fail(c, 422, 'connection_failed', `could not ${what}: ${error.message}`, 'connection');
  deps.logger.warn({ connector, err: String(error) }, `${what} failed`);
  return fail(c, 422, 'connection_failed', `could not ${what}: ${error instanceof Error ? error.message : String(error)}`, 'connection');
}

const tag = { tags: ['connectors'], security: bearer, middleware: requireJson };
const badBody = errorResponse('Bad body');
const rateLimited = errorResponse('The system’s rate limit: try again after Retry-After');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['connectors'],
  security: bearer,
  summary: 'Connector types and their connection forms',
  responses: { 200: jsonResponse('Connectors', connectorListSchema) },
});

const describeRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/describe',
  summary: 'The collections of a connection and their fields',
  request: { body: jsonBody(describeBodySchema) },
  responses: {
    200: jsonResponse('Collections and fields', describeResultSchema),
    400: badBody,
    422: errorResponse('Unknown connector, bad connection, a file or host the operator does not allow (access_refused), or it could not be reached'),
    429: rateLimited,
  },
});

const sampleRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/sample',
  summary: 'A few records of a trigger’s collection, read with the stored credentials under the operator’s access policy: what the editor tries a transform on',
  request: { body: jsonBody(sampleBodySchema) },
  responses: {
    200: jsonResponse('The records (up to `limit`), oldest change first, with their data fields only', sampleResultSchema),
    400: badBody,
    422: errorResponse(
      'Not a trigger config, unknown connector, bad connection, a missing credential, a file or host the operator does not allow (access_refused), or the system could not be read',
    ),
    429: rateLimited,
  },
});

const optionsRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/options',
  summary: 'The choices of a lookup field of a connection form, read from the system (GitHub: the repositories the token can see)',
  request: { body: jsonBody(connectionOptionsBodySchema) },
  responses: {
    200: jsonResponse('The choices; complete is false when the system holds more than are listed', connectionOptionsSchema),
    400: badBody,
    422: errorResponse('Unknown connector or field, a missing credential, a host the operator does not allow (access_refused), or the system refused'),
    429: rateLimited,
  },
});

/** Connector types, and what a connection holds (collections and fields) for the editor's dropdowns. Mounted at /api/connectors. */
export function connectorsApi(deps: AppDeps): OpenAPIHono {
  const { connectors, credentials } = deps;
  const app = apiApp();
  const findType = (name: string): ConnectorType | undefined => (Object.hasOwn(connectors, name) ? connectors[name] : undefined);
  const unknownConnector = (c: Context, name: string) =>
    fail(c, 422, 'unknown_connector', `no connector "${name}": use one of ${Object.keys(connectors).join(', ')}`, 'connector');
  /** What describing or listing choices needs of the runtime; `baseDir` may name any folder: files stay held to deps.access. */
  const connectionContext = (connection: Record<string, unknown>, baseDir: string | undefined): ConnectionContext => ({
    connection,
    baseDir: resolve(deps.dataDir, baseDir ?? '.'),
    resolveCredential: (name) => credentials.resolve(name),
    resolveAuth: (name) => credentials.resolveAuth(name),
    access: deps.access,
  });

  app.openapi(listRoute, (c) => c.json(Object.values(connectors).map(connectorSummary), 200));

  app.openapi(describeRoute, async (c) => {
    const body = c.req.valid('json');
    const type = findType(body.connector);
    if (!type) return unknownConnector(c, body.connector);
    const [problem] = type.checkConnection(body.connection);
    if (problem) {
      const path = formatPath(['connection', ...problem.path]);
      return fail(c, 422, 'invalid_connection', `${path}: ${problem.message}`, path);
    }
    const context = connectionContext(body.connection, body.baseDir);
    // Describing needs a connection, not a collection: the trigger fields other than `connection` are placeholders
    // for connectors that only describe through an open collection.
    const config = {
      connector: body.connector,
      connection: body.connection,
      collection: body.collection ?? '*',
      key: body.key ?? 'id',
      detect: { mode: 'manual' },
      write: { create: false, update: false, delete: false },
    } satisfies TriggerConfig;
    try {
      if (type.describeConnection) return c.json({ collections: await type.describeConnection(context) }, 200);
      const connector = await type.open({ ...context, config });
      try {
        return c.json({ collections: await connector.describe() }, 200);
      } finally {
        await connector.close();
      }
    } catch (error) {
      return connectionFailure(c, deps, error, 'describe the connection', body.connector);
    }
  });

  app.openapi(sampleRoute, async (c) => {
    const body = c.req.valid('json');
    const parsed = triggerConfigSchema.safeParse(body.trigger);
    if (!parsed.success) {
      const [issue] = parsed.error.issues;
      const path = formatPath(['trigger', ...(issue?.path ?? [])].map((part) => (typeof part === 'symbol' ? String(part) : part)));
      return fail(c, 422, 'invalid_trigger', `${path}: ${issue?.message ?? 'not a trigger config'}`, path);
    }
    const type = findType(parsed.data.connector);
    if (!type) return unknownConnector(c, parsed.data.connector);
    const [problem] = type.checkConnection(parsed.data.connection);
    if (problem) {
      const path = formatPath(['trigger', 'connection', ...problem.path]);
      return fail(c, 422, 'invalid_connection', `${path}: ${problem.message}`, path);
    }
    // Reading is all a sample does: the connector is opened as a trigger that may write nothing and never polls.
    const config = { ...parsed.data, detect: { mode: 'manual' }, write: { create: false, update: false, delete: false } } satisfies TriggerConfig;
    const limit = body.limit ?? 3;
    try {
      const connector = await type.open({ ...connectionContext(parsed.data.connection, body.baseDir), config });
      try {
        const records = [];
        let position: ListPosition | null = { since: null, afterId: null };
        // A listing may hold deleted records (soft deletes, tombstones): they name nothing to try a transform on. A few
        // pages at most: a collection of deleted records is not read to its end for a sample.
        for (let pages = 0; position && records.length < limit && pages < SAMPLE_PAGES; pages += 1) {
          const page = await connector.listSince(position, limit);
          for (const record of page.records) if (!record.deleted && records.length < limit) records.push({ id: record.id, fields: record.fields });
          position = page.records.length > 0 ? page.next : null;
        }
        return c.json({ records }, 200);
      } finally {
        await connector.close();
      }
    } catch (error) {
      return connectionFailure(c, deps, error, `read records of "${parsed.data.collection}"`, parsed.data.connector);
    }
  });

  app.openapi(optionsRoute, async (c) => {
    const body = c.req.valid('json');
    const type = findType(body.connector);
    if (!type) return unknownConnector(c, body.connector);
    const lookups = (type.connectionForm?.fields ?? []).filter((field) => field.kind === 'lookup').map((field) => field.key);
    if (!type.connectionOptions || !lookups.includes(body.field)) {
      const known = lookups.length > 0 && type.connectionOptions ? `; its fields with choices: ${lookups.join(', ')}` : ': it lists no choices';
      return fail(c, 422, 'unknown_field', `connector "${body.connector}" has no field "${body.field}" whose choices the runtime lists${known}`, 'field');
    }
    try {
      return c.json(await type.connectionOptions(connectionContext(body.connection, body.baseDir), body.field), 200);
    } catch (error) {
      return connectionFailure(c, deps, error, `list the choices for connection.${body.field}`, body.connector);
    }
  });

  return app;
}
