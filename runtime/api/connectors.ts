import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { resolve } from 'node:path';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import { ConnectorError } from '../connectors/types';
import { MissingCredentialError } from '../credentials/store';
import type { AppDeps } from './deps';
import { fail, formatPath, requireJson, validationHook } from './errors';
import type { RouteDoc } from './routeDoc';
import { connectorListSchema, describeBodySchema, describeResultSchema, errorSchema } from './schemas';


/** Connector types, and what a connection holds (collections and fields) for the editor's dropdowns. Mounted at /api/connectors. */
export function connectorsApi(deps: AppDeps): Hono {
  const { connectors, credentials, logger } = deps;
  const app = new Hono();

  app.get('/', (c) => c.json(Object.values(connectors).map((connector) => ({ type: connector.type, title: connector.title }))));

  app.post('/describe', requireJson, zValidator('json', describeBodySchema, validationHook), async (c) => {
    const body = c.req.valid('json');
    const type = Object.hasOwn(connectors, body.connector) ? connectors[body.connector] : undefined;
    if (!type) {
      return fail(c, 422, 'unknown_connector', `no connector "${body.connector}": use one of ${Object.keys(connectors).join(', ')}`, 'connector');
    }
    const [problem] = type.checkConnection(body.connection);
    if (problem) {
      const path = formatPath(['connection', ...problem.path]);
      return fail(c, 422, 'invalid_connection', `${path}: ${problem.message}`, path);
    }
    const context = { baseDir: resolve(deps.dataDir, body.baseDir ?? '.'), resolveCredential: (name: string) => credentials.resolve(name) };
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
      if (type.describeConnection) return c.json({ collections: await type.describeConnection({ ...context, connection: body.connection }) });
      const connector = await type.open({ ...context, config });
      try {
        return c.json({ collections: await connector.describe() });
      } finally {
        await connector.close();
      }
    } catch (error) {
      if (error instanceof MissingCredentialError) return fail(c, 422, 'missing_credential', error.message, 'connection');
      if (error instanceof ConnectorError) return fail(c, 422, 'connection_failed', `could not describe the connection: ${error.message}`, 'connection');
      logger.warn({ connector: body.connector, err: String(error) }, 'describe failed');
      return fail(c, 422, 'connection_failed', `could not describe the connection: ${error instanceof Error ? error.message : String(error)}`, 'connection');
    }
  });

  return app;
}

export const connectorRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/api/connectors', tag: 'connectors', auth: 'bearer', summary: 'Connector types', responses: { 200: { description: 'Connectors', schema: connectorListSchema } } },
  {
    method: 'post',
    path: '/api/connectors/describe',
    tag: 'connectors',
    auth: 'bearer',
    summary: 'The collections of a connection and their fields',
    body: describeBodySchema,
    responses: {
      200: { description: 'Collections and fields', schema: describeResultSchema },
      400: { description: 'Bad body', schema: errorSchema },
      422: { description: 'Unknown connector, bad connection, or it could not be reached', schema: errorSchema },
    },
  },
];
