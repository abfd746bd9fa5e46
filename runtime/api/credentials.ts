import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { fail, requireJson } from './errors';
import { oauthFailure } from './oauth';
import { apiApp, bearer, errorResponse, jsonBody, jsonResponse } from './routes';
import { createdCredentialSchema, credentialBodySchema, credentialNameParams, credentialSummarySchema } from './schemas';

const tag = { tags: ['credentials'], security: bearer };

const listRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/',
  summary: 'Names and types of the stored credentials, never values',
  responses: { 200: jsonResponse('Credentials', z.array(credentialSummarySchema)) },
});

const storeRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/',
  middleware: requireJson,
  summary: 'Store a credential (token, basic, or oauth2 client credentials, whose first token is fetched at once), encrypted with AES-256-GCM',
  request: { body: jsonBody(credentialBodySchema) },
  responses: {
    201: jsonResponse('Stored', createdCredentialSchema),
    400: errorResponse('Bad body'),
    409: errorResponse('The name is taken'),
    415: errorResponse('Not JSON'),
    422: errorResponse('The authorization server refused the client, or could not be reached'),
  },
});

const removeRoute = createRoute({
  ...tag,
  method: 'delete',
  path: '/{name}',
  summary: 'Remove a credential',
  request: { params: credentialNameParams },
  responses: { 204: { description: 'Removed' }, 404: errorResponse('No such credential') },
});

/**
 * Stored secrets: create, list names and types, remove. Values go in and never come out. Mounted at /api/credentials;
 * connecting an OAuth2 credential by consent is in oauth.ts.
 */
export function credentialsApi(deps: AppDeps): OpenAPIHono {
  const { credentials, logger } = deps;
  const app = apiApp();

  app.openapi(listRoute, async (c) => c.json(await credentials.list(), 200));

  app.openapi(storeRoute, async (c) => {
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
    deps.scheduler.registrations?.credentialStored(name);
    return c.json({ name, type }, 201);
  });

  app.openapi(removeRoute, async (c) => {
    const { name } = c.req.valid('param');
    if (!(await credentials.remove(name))) return fail(c, 404, 'not_found', `no credential "${name}"`, 'name');
    logger.info({ credential: name }, 'credential removed');
    return c.body(null, 204);
  });

  return app;
}
