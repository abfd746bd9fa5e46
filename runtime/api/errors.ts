import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { errorBody, type ErrorBody } from '../http/errorBody';

export { errorBody, internalErrorBody, type ErrorBody } from '../http/errorBody';

/** An error answer with its status, typed so that a route's handler is checked against the statuses it documents. */
export type ErrorResponse<S extends ContentfulStatusCode = ContentfulStatusCode> = Response & TypedResponse<ErrorBody, S, 'json'>;

/** A JSON error response. */
export function fail<S extends ContentfulStatusCode>(c: Context, status: S, code: string, message: string, path = ''): ErrorResponse<S> {
  return c.json(errorBody(code, message, path), status);
}

/** A zod path as it reads in a document: `nodes[3].config.fields[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** One sentence for a failed zod parse: the first problem with its path, and how many more there are. */
export function describeZodError(error: z.core.$ZodError): { message: string; path: string } {
  const [first, ...rest] = error.issues;
  if (!first) return { message: 'invalid input', path: '' };
  const path = formatPath(first.path);
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
  return { message: `${path ? `${path}: ` : ''}${first.message}${more}`, path };
}

type Target = 'json' | 'query' | 'param';

const codes: Record<Target, string> = { json: 'invalid_body', query: 'invalid_query', param: 'invalid_path' };

/** The validation hook of every route (OpenAPIHono's `defaultHook`): a failed validation gets the SPEC §10 error body. */
export function validationHook(
  result: { success: true } | { success: false; error: z.core.$ZodError; target?: string },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const target = (result.target ?? 'json') as Target;
  const { message, path } = describeZodError(result.error);
  // An unknown id in the path is "not found", whatever its spelling.
  if (target === 'param') return fail(c, 404, 'not_found', `nothing at this address: ${message}`, path);
  return fail(c, 400, codes[target] ?? 'invalid_request', message, path);
}

/**
 * The middleware of every route with a JSON body: refuses a body not declared as JSON (it would otherwise validate as
 * an empty object), and one that is not JSON with the answer the flow routes give (parseJsonText), before the body's
 * validator would answer it in words of its own, without where it broke.
 */
export const requireJson: MiddlewareHandler = async (c, next) => {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
    return fail(c, 415, 'unsupported_media_type', 'send the body as JSON with the header Content-Type: application/json');
  }
  // Hono keeps the text: the body's validator parses it from there, not from the spent stream.
  const parsed = parseJsonText(c, await c.req.text());
  if (!parsed.ok) return parsed.response;
  await next();
};

/** Parses a JSON text, or returns a 400 response that says where it broke. */
export function parseJsonText(c: Context, text: string): { ok: true; value: unknown } | { ok: false; response: ErrorResponse<400> } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, response: fail(c, 400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`) };
  }
}
