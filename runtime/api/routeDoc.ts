import type { z } from 'zod';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Media type when not JSON. */
  mediaType?: string;
}

/** One route as `/api/openapi.json` describes it; each sub-app lists its own next to its handlers. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Hono-style path with `:params`. */
  path: string;
  summary: string;
  tag: string;
  auth: 'bearer' | 'none' | 'signature';
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  bodyMediaType?: string;
  responses: Record<number, ResponseDoc>;
}
