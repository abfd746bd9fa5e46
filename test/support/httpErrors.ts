import { expect } from 'vitest';
import type { ErrorBody } from '../../runtime/http/errorBody';

/** A refused request's body (SPEC §10); a refused flow document also lists its `issues`. */
export type ErrorAnswer = ErrorBody & { issues?: Array<{ path: string; message: string }> };

/**
 * Asserts that `response` is the error `code` with `status`, in SPEC §10's shape (a message and a path, both text), and
 * returns its body. `expected` narrows it further: a pattern its message matches, or `{ message, path }`.
 */
export async function expectError(response: Response, status: number, code: string, expected: RegExp | { message?: RegExp; path?: string } = {}): Promise<ErrorAnswer> {
  const body = (await response.json()) as ErrorAnswer;
  expect({ status: response.status, code: body.error?.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.path).toBe('string');
  const { message, path } = expected instanceof RegExp ? { message: expected } : expected;
  if (message) expect(body.error.message).toMatch(message);
  if (path !== undefined) expect(body.error.path).toBe(path);
  return body;
}

/** A refused request's status and error as one object, to compare whole. */
export async function errorOf(response: Response): Promise<{ status: number } & ErrorBody['error']> {
  const body = (await response.json()) as ErrorBody;
  return { status: response.status, ...body.error };
}
