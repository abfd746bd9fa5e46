import { Hono } from 'hono';
import { z } from 'zod';
import { conflictRouteDocs } from './conflicts';
import { connectorRouteDocs } from './connectors';
import { credentialRouteDocs } from './credentials';
import { draftRouteDocs } from './drafts';
import { failingRouteDocs } from './failing';
import { flowRouteDocs } from './flows';
import { hookRouteDocs } from './hooks';
import type { RouteDoc } from './routeDoc';
import { runRouteDocs } from './runs';
import { errorSchema, okSchema } from './schemas';

export const miscRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/health', tag: 'runtime', auth: 'none', summary: 'Liveness', responses: { 200: { description: 'Alive', schema: okSchema } } },
  {
    method: 'get',
    path: '/metrics',
    tag: 'runtime',
    auth: 'bearer',
    summary: 'Prometheus metrics: records synced, echoes dropped, conflicts, failures, pass duration (public with --metrics-public)',
    responses: { 200: { description: 'Prometheus text format', mediaType: 'text/plain; version=0.0.4' }, 401: { description: 'Missing or wrong token', schema: errorSchema } },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    tag: 'runtime',
    auth: 'bearer',
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', mediaType: 'application/json' } },
  },
];

/** Every documented route of the API. */
export const allRouteDocs: RouteDoc[] = [
  ...miscRouteDocs,
  ...flowRouteDocs,
  ...draftRouteDocs,
  ...runRouteDocs,
  ...failingRouteDocs,
  ...conflictRouteDocs,
  ...credentialRouteDocs,
  ...connectorRouteDocs,
  ...hookRouteDocs,
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

function parameters(route: RouteDoc): Array<Record<string, unknown>> {
  const list: Array<Record<string, unknown>> = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const shape = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, property] of Object.entries(shape.properties ?? {})) {
      list.push({ name, in: where, required: where === 'path' || (shape.required ?? []).includes(name), schema: property });
    }
  }
  return list;
}

/** The OpenAPI 3.1 document of the whole API, generated from the zod schemas the routes validate with. */
export function buildOpenApi(routes: readonly RouteDoc[] = allRouteDocs, version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { [response.mediaType ?? 'application/json']: { schema: jsonSchema(response.schema, 'output') } } }
          : response.mediaType
            ? { content: { [response.mediaType]: {} } }
            : {}),
      };
    }
    if (route.auth === 'bearer') responses['401'] ??= { description: 'Missing or wrong token', content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } } };
    (paths[path] ??= {})[route.method] = {
      summary: route.summary,
      tags: [route.tag],
      security: route.auth === 'bearer' ? [{ bearer: [] }] : [],
      ...(route.params || route.query ? { parameters: parameters(route) } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { [route.bodyMediaType ?? 'application/json']: { schema: jsonSchema(route.body, 'input') } } } }
        : {}),
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

/** Serves the OpenAPI document. Mounted at /api. */
export function openApiApi(): Hono {
  const app = new Hono();
  let document: Record<string, unknown> | null = null;
  app.get('/openapi.json', (c) => c.json((document ??= buildOpenApi())));
  return app;
}
