import { z } from 'zod';

/**
 * The body of every failed HTTP answer of the runtime (SPEC §10), from the API and from the webhook intake alike: what
 * went wrong (`code`, `message`) and where in the request (`path`). It sits below both, so that neither has to import
 * the other for it.
 */
export const errorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    path: z.string(),
  }),
});

export type ErrorBody = z.infer<typeof errorSchema>;

/** The error body of a failed request. */
export function errorBody(code: string, message: string, path = ''): ErrorBody {
  return { error: { code, message, path } };
}

/** What a request that failed on the runtime's side is told; the details go to the log. */
export const internalErrorBody = errorBody('internal', 'the runtime failed on this request; the details are in its log');
