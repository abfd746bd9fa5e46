import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { randomBytes } from 'node:crypto';
import { AccessRefusedError } from '../connectors/access';
import { ConsentError, OAuthConsents } from '../credentials/consents';
import { OAuthRefusedError, OAuthUnavailableError } from '../credentials/oauth2';
import { OAuthSettingsError } from '../credentials/store';
import type { AppDeps } from './deps';
import { fail, requireJson, type ErrorResponse } from './errors';
import { apiApp, bearer, errorResponse, jsonBody, jsonResponse, noToken, serveRaw } from './routes';
import { oauthCallbackQuery, oauthStartBodySchema, oauthStartParams, oauthStartResultSchema } from './schemas';

/** Where the authorization server sends the browser back to, under the runtime's own address. */
export const OAUTH_CALLBACK_PATH = '/api/oauth/callback';

const startRoute = createRoute({
  method: 'post',
  path: '/{name}/oauth/start',
  tags: ['credentials'],
  security: bearer,
  middleware: requireJson,
  summary: 'Start connecting an OAuth2 authorization-code credential: the URL of the server’s consent page (PKCE, one-time state)',
  request: { params: oauthStartParams, body: jsonBody(oauthStartBodySchema) },
  responses: {
    200: jsonResponse('Open authorizationUrl in the browser', oauthStartResultSchema),
    400: errorResponse('Bad body'),
    409: errorResponse('The name holds a credential of another kind'),
    422: errorResponse('The server could not be reached or its metadata read'),
  },
});

/** Answered with a page, not JSON, and read from the redirect's own parameters (RFC 6749 §4.1.2), so served raw. */
const callbackRoute = createRoute({
  method: 'get',
  path: '/callback',
  tags: ['credentials'],
  security: noToken,
  summary: 'Where the authorization server sends the browser back: exchanges the code, stores the tokens encrypted (authenticated by the one-time state)',
  request: { query: oauthCallbackQuery },
  responses: {
    200: { description: 'Connected: a page that tells the editor and closes itself', content: { 'text/html': {} } },
    400: { description: 'Unknown, expired or used state', content: { 'text/html': {} } },
    422: { description: 'Declined, or the server refused the code', content: { 'text/html': {} } },
  },
});

/** The answer for a failed exchange with an authorization server, or null when `error` is not one. */
export function oauthFailure(c: Context, error: unknown, path = 'value'): ErrorResponse<400 | 422> | null {
  if (error instanceof OAuthRefusedError) return fail(c, 422, 'oauth_refused', error.message, path);
  if (error instanceof OAuthUnavailableError) return fail(c, 422, 'oauth_server_unavailable', error.message, path);
  if (error instanceof AccessRefusedError) return fail(c, 422, 'access_refused', error.message, path);
  if (error instanceof OAuthSettingsError) return fail(c, 400, 'invalid_body', error.message, `${path}.${error.path}`);
  return null;
}

/**
 * OAuth2 consent: `consent` (mounted at /api/credentials, behind the API token) starts one for a credential;
 * `callback` (mounted at /api/oauth before the token check, since a browser redirect cannot carry the token) finishes
 * it, authenticated by the one-time state (runtime/credentials/consents.ts).
 */
export function oauthApis(deps: AppDeps): { consent: OpenAPIHono; callback: OpenAPIHono } {
  const { credentials, logger } = deps;
  const consents = new OAuthConsents(credentials);

  const consent = apiApp();
  consent.openapi(startRoute, async (c) => {
    const { name } = c.req.valid('param');
    try {
      const started = await consents.start(name, c.req.valid('json'), new URL(OAUTH_CALLBACK_PATH, c.req.url).href);
      logger.info({ credential: name }, 'oauth consent started');
      return c.json(started, 200);
    } catch (error) {
      // Starting refuses with 400 or 409 only; a consent's other statuses are the callback's.
      if (error instanceof ConsentError) return fail(c, error.status as 400 | 409, error.code, error.message, error.path);
      const answer = oauthFailure(c, error, '');
      if (answer) return answer;
      throw error;
    }
  });

  const callback = apiApp();
  serveRaw(callback, callbackRoute, async (c) => {
    const parameters = new URL(c.req.url).searchParams;
    try {
      const { name } = await consents.finish(parameters);
      logger.info({ credential: name }, 'oauth credential connected');
      return consentPage(c, 200, { credential: name, ok: true, message: `The credential "${name}" is connected. You can close this window and go back to the editor.` });
    } catch (error) {
      if (error instanceof ConsentError) return consentPage(c, error.status, { credential: null, ok: false, message: error.message });
      if (error instanceof OAuthUnavailableError || error instanceof AccessRefusedError) return consentPage(c, 422, { credential: null, ok: false, message: error.message });
      throw error;
    }
  });

  return { consent, callback };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/**
 * The page the consent popup ends on. It tells the editor through a BroadcastChannel (the editor's
 * Cross-Origin-Opener-Policy severs `window.opener` once the popup visited the server's origin) and through the opener
 * where there still is one, then closes itself; if the browser keeps it open, it says what happened.
 */
function consentPage(c: Context, status: 200 | 400 | 404 | 409 | 422, outcome: { credential: string | null; ok: boolean; message: string }): Response {
  const nonce = randomBytes(16).toString('base64');
  const message = JSON.stringify({ type: 'syncline.oauth', ...outcome }).replace(/</g, '\\u003c');
  const title = outcome.ok ? 'Connected' : 'Not connected';
  c.header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
  c.header('cache-control', 'no-store');
  return c.html(
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Syncline: ${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1f2933}h1{font-size:1.4rem}</style></head>
<body><h1>${title}</h1><p id="outcome">${escapeHtml(outcome.message)}</p>
<script nonce="${nonce}">
const message = ${message};
try { new BroadcastChannel('syncline.oauth').postMessage(message); } catch {}
try { if (window.opener) window.opener.postMessage(message, location.origin); } catch {}
if (message.ok) window.close();
</script></body></html>`,
    status,
  );
}
