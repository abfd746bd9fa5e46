import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { H } from 'hono/types';
import { z } from 'zod';
import { errorSchema } from '../http/errorBody';
import { validationHook } from './errors';

/**
 * How every route of the API is written: once, with `createRoute`, which gives its entry in /api/openapi.json, the
 * validation of its path, query and body, and the types of its handler. These are the pieces the definitions share.
 */

/** A sub-app of the API: a failed validation of any of its routes answers with the SPEC §10 error body. */
export function apiApp(): OpenAPIHono {
  return new OpenAPIHono({ defaultHook: validationHook });
}

/** Behind the API token: the document names the bearer scheme, and the 401 every such route can answer. */
export const bearer = [{ bearer: [] as string[] }];

/** Reachable without the token: open (/health, the consent callback), or authenticated by a webhook signature. */
export const noToken = [] as Array<Record<string, string[]>>;

/** Where a route is given as a zod schema, and where as a JSON Schema already (a body the handler reads itself). */
export type SchemaLike = z.ZodType | Record<string, unknown>;

/**
 * Zod's own JSON Schema of `schema`, as a request (`input`) or an answer (`output`) reads it. Zod's converter rather
 * than the one @hono/zod-openapi brings: it tells input from output (defaults, coercions) and writes `const` for
 * literals, so the document reads as the schemas do.
 */
export function jsonSchema(schema: SchemaLike, io: 'input' | 'output'): Record<string, unknown> {
  if (!(schema instanceof z.ZodType)) return schema;
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

/** A JSON body, required, validated against `schema` before the handler runs. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { 'application/json': { schema } } };
}

/**
 * A JSON body the handler reads and checks itself, documented from `schema` but not validated against it: a flow
 * document, which the flow loader checks whole and answers with every problem and its path.
 */
export function documentedJsonBody(schema: z.ZodType) {
  return { required: true, content: { 'application/json': { schema: jsonSchema(schema, 'input') } } };
}

/** A JSON answer of shape `schema`; the handler's `c.json(…, status)` is checked against it. */
export function jsonResponse<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { 'application/json': { schema } } };
}

/** An error answer (SPEC §10). */
export function errorResponse(description: string) {
  return jsonResponse(description, errorSchema);
}

/**
 * Serves `route` with plain Hono handlers, for the few routes whose body or answer is not the JSON a schema types: the
 * stored flow's exact bytes, Prometheus text, this document, the consent page, signed webhooks read as raw bytes. The
 * route is documented from the same definition; whatever validation it needs is in `handlers`.
 */
export function serveRaw<P extends string>(app: OpenAPIHono, route: RouteConfig & { getRoutingPath(): P }, ...handlers: Array<H<Env, NoInfer<P>>>): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method, route.getRoutingPath(), ...(handlers as [H]));
}
