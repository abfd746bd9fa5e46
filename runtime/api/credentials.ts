import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { fail, requireJson, validationHook } from './errors';
import { oauthFailure, oauthRouteDocs } from './oauth';
import type { RouteDoc } from './routeDoc';
import { createdCredentialSchema, credentialBodySchema, credentialNameParams, credentialSummarySchema, errorSchema } from './schemas';

/**
 * Stored secrets: create, list names and types, remove. Values go in and never come out. Mounted at /api/credentials;
 * connecting an OAuth2 credential by consent is in oauth.ts.
 */
export function credentialsApi(deps: AppDeps): Hono {
  const { credentials, logger } = deps;
  const app = new Hono();

  app.get('/', async (c) => c.json(await credentials.list()));

  app.post('/', requireJson, zValidator('json', credentialBodySchema, validationHook), async (c) => {
    const { name, type, value } = c.req.valid('json');
    let created;
    try {
      created = await credentials.create(name, type, value);
    } catch (error) {
      // An OAuth2 client-credentials value is tried at once: a refusal is the caller's to fix.
      const answer = oauthFailure(c, error);
      if (answer) return answer;
      throw error;
    }
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
    summary: 'Store a credential (token, basic, or oauth2 client credentials, whose first token is fetched at once), encrypted with AES-256-GCM',
    body: credentialBodySchema,
    responses: {
      201: { description: 'Stored', schema: createdCredentialSchema },
      400: { description: 'Bad body', schema: errorSchema },
      409: { description: 'The name is taken', schema: errorSchema },
      415: { description: 'Not JSON', schema: errorSchema },
      422: { description: 'The authorization server refused the client, or could not be reached', schema: errorSchema },
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
  ...oauthRouteDocs,
];
