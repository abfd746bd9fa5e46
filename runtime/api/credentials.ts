import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { fail, requireJson, validationHook } from './errors';
import type { RouteDoc } from './routeDoc';
import { createdCredentialSchema, credentialBodySchema, credentialNameParams, credentialSummarySchema, errorSchema } from './schemas';

/** Stored secrets: create, list names and types, remove. Values go in and never come out. Mounted at /api/credentials. */
export function credentialsApi(deps: AppDeps): Hono {
  const { credentials, logger } = deps;
  const app = new Hono();

  app.get('/', async (c) => c.json(await credentials.list()));

  app.post('/', requireJson, zValidator('json', credentialBodySchema, validationHook), async (c) => {
    const { name, type, value } = c.req.valid('json');
    const created = await credentials.create(name, type, value);
    if (!created) {
      return fail(c, 409, 'credential_exists', `a credential named "${name}" exists: delete it first to replace its value`, 'name');
    }
    logger.info({ credential: name, type }, 'credential stored');
    return c.json({ name, type }, 201);
  });

  app.delete('/:name', zValidator('param', credentialNameParams, validationHook), async (c) => {
    const { name } = c.req.valid('param');
    if (!(await credentials.remove(name))) return fail(c, 404, 'not_found', `no credential "${name}"`, 'name');
    logger.info({ credential: name }, 'credential removed');
    return c.body(null, 204);
  });

  return app;
}

export const credentialRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/credentials',
    tag: 'credentials',
    auth: 'bearer',
    summary: 'Names and types of the stored credentials, never values',
    responses: { 200: { description: 'Credentials', schema: z.array(credentialSummarySchema) } },
  },
  {
    method: 'post',
    path: '/api/credentials',
    tag: 'credentials',
    auth: 'bearer',
    summary: 'Store a credential, encrypted with AES-256-GCM',
    body: credentialBodySchema,
    responses: {
      201: { description: 'Stored', schema: createdCredentialSchema },
      400: { description: 'Bad body', schema: errorSchema },
      409: { description: 'The name is taken', schema: errorSchema },
      415: { description: 'Not JSON', schema: errorSchema },
    },
  },
  {
    method: 'delete',
    path: '/api/credentials/:name',
    tag: 'credentials',
    auth: 'bearer',
    summary: 'Remove a credential',
    params: credentialNameParams,
    responses: { 204: { description: 'Removed' }, 404: { description: 'No such credential', schema: errorSchema } },
  },
];
