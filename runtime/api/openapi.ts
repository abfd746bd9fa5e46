import { createRoute, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { errorSchema } from '../http/errorBody';
import { apiApp, bearer, jsonSchema, serveRaw, type SchemaLike } from './routes';

function parameters(route: RouteConfig): Array<Record<string, unknown>> {
  const list: Array<Record<string, unknown>> = [];
  for (const [where, schema] of [
    ['path', route.request?.params],
    ['query', route.request?.query],
  ] as const) {
    if (!schema) continue;
    const shape = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, property] of Object.entries(shape.properties ?? {})) {
      list.push({ name, in: where, required: where === 'path' || (shape.required ?? []).includes(name), schema: property });
    }
  }
  return list;
}

/** A `content` map with each media type's schema converted; a media type without one stays `{}`. */
function content(map: object, io: 'input' | 'output'): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(map).map(([mediaType, media]: [string, { schema?: SchemaLike } | undefined]) => [mediaType, media?.schema ? { schema: jsonSchema(media.schema, io) } : {}]),
  );
}

const requiresToken = (route: RouteConfig) => (route.security ?? []).some((requirement) => 'bearer' in requirement);

/** The OpenAPI 3.1 document of `routes`: the `createRoute` definitions the app serves, with their full paths. */
export function buildOpenApi(routes: readonly RouteConfig[], version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      if ('$ref' in response) throw new Error(`${route.method} ${route.path}: a response must be given, not referenced`);
      responses[status] = { description: response.description, ...(response.content ? { content: content(response.content, 'output') } : {}) };
    }
    if (requiresToken(route)) responses['401'] ??= { description: 'Missing or wrong token', content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } } };
    const body = route.request?.body;
    (paths[route.path] ??= {})[route.method] = {
      summary: route.summary,
      tags: route.tags,
      security: route.security ?? [],
      ...(route.request?.params || route.request?.query ? { parameters: parameters(route) } : {}),
      ...(body ? { requestBody: { required: body.required ?? false, content: content(body.content, 'input') } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Syncline runtime API',
      version,
      description: 'The API of `syncline serve` (SPEC §10). Errors are {"error":{"code","message","path"}} with a 4xx status for anything the caller can fix.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token syncline serve prints (or SYNCLINE_TOKEN)' } } },
    paths,
  };
}

/** The routes an app serves, as its `createRoute` definitions (those of sub-apps it mounted included). */
export function routesOf(app: OpenAPIHono): RouteConfig[] {
  return app.openAPIRegistry.definitions.flatMap((definition) => (definition.type === 'route' ? [definition.route] : []));
}

const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags: ['runtime'],
  security: bearer,
  summary: 'This document',
  responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
});

/** Serves the OpenAPI document of `root`, built the first time it is asked for, when every sub-app is mounted. Mounted at /api. */
export function openApiApi(root: OpenAPIHono): OpenAPIHono {
  const app = apiApp();
  let document: Record<string, unknown> | null = null;
  serveRaw(app, openApiRoute, (c) => c.json((document ??= buildOpenApi(routesOf(root)))));
  return app;
}
