/**
 * Every error body the HubSpot fake sends, each beside the source it copies. Bodies marked UNCONFIRMED are the fake's
 * best guess where neither HubSpot's documentation nor a recorded response gave the exact wording; the status code
 * beside them is documented unless said otherwise. SOURCES.md in this folder lists the same sources by behaviour.
 */
import { randomUUID } from 'node:crypto';

/** A response the fake answers with instead of the route's normal result. */
export class HubSpotError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HubSpot fake ${status}: ${JSON.stringify(body)}`);
  }
}

/**
 * The standard error envelope — Error handling, https://developers.hubspot.com/docs/api-reference/error-handling :
 * `{status: "error", message, errors?: [{message, code, context}], category, correlationId}`, "the fields … should
 * all be treated as optional". The OpenAPI `Error` schema (HubSpot-public-api-spec-collection, CRM/Contacts v3)
 * requires `category`, `correlationId` and `message`.
 */
export function standardError(status: number, category: string, message: string, extra: Record<string, unknown> = {}): HubSpotError {
  return new HubSpotError(status, { status: 'error', message, correlationId: randomUUID(), category, ...extra });
}

/**
 * 401 without a valid token. The message is the one clients record for a missing or unknown token (e.g. the Go test
 * fixtures quoted in SOURCES.md: "Authentication credentials not found."); the longer tail naming OAuth is what the
 * API has answered for years. UNCONFIRMED: the exact tail.
 */
export const authenticationNotFound = (): HubSpotError =>
  standardError(
    401,
    'INVALID_AUTHENTICATION',
    'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
  );

/** 401 for an OAuth access token past its lifetime (30 minutes). Category EXPIRED_AUTHENTICATION; UNCONFIRMED wording. */
export const authenticationExpired = (): HubSpotError => standardError(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.');

/**
 * 429 — Usage guidelines, https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines : the body
 * example `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":…,
 * "policyName":"DAILY","requestId":…}`; the ten-second limit's `policyName` TEN_SECONDLY_ROLLING and message are what
 * HubSpot's own Node client tests for (hubspot-api-nodejs src/services/decorators/RetryDecorator: `tenSecondlyRolling =
 * 'TEN_SECONDLY_ROLLING'`). No Retry-After: the usage guidelines document none for a 429 (Error handling mentions
 * Retry-After only for 477).
 */
export function rateLimited(policyName: 'DAILY' | 'TEN_SECONDLY_ROLLING', headers: Record<string, string> = {}): HubSpotError {
  const message = policyName === 'DAILY' ? 'You have reached your daily limit.' : 'You have reached your ten_secondly_rolling limit.';
  return new HubSpotError(429, { status: 'error', message, errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName, requestId: randomUUID() }, headers);
}

/**
 * The search endpoints' own limit, "five requests per second per account" (Search, Limitations). The message is the
 * one HubSpot's Node client retries on (RetryDecorator: `secondlyLimitMessage = 'You have reached your secondly
 * limit.'`). UNCONFIRMED: the policyName, SECONDLY as public client fixtures record it.
 */
export const searchRateLimited = (): HubSpotError =>
  new HubSpotError(429, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName: 'SECONDLY', requestId: randomUUID() });

/**
 * Paging a search past its 10,000th result: "Attempting to page beyond 10,000 will result in a 400 error" (Search,
 * Limitations). The message is the one recorded by a client that hit it ("There was a problem with the request",
 * logged with `"after": "10000"` in the request body). UNCONFIRMED: the category.
 */
export const searchBeyondTenThousand = (): HubSpotError => standardError(400, 'VALIDATION_ERROR', 'There was a problem with the request.');

/**
 * More inputs than a batch takes. The wording follows the recorded message for the other batch ceiling
 * ("The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number
 * of items and try again", activepieces/activepieces#9359), with the documented object batch limit of 100.
 * UNCONFIRMED: this exact sentence for 100.
 */
export const tooManyInputs = (limit: number): HubSpotError =>
  standardError(400, 'VALIDATION_ERROR', `The maximum number of inputs supported in a batch request is ${limit}. Please reduce the number of items and try again`);

/** UNCONFIRMED wording; HubSpot refuses a batch naming one id twice. */
export const duplicateIds = (ids: readonly string[]): HubSpotError =>
  standardError(400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${ids.join(', ')}]. IDs must be unique`);

/** A request body that is not JSON, or not the documented shape. UNCONFIRMED wording. */
export const invalidInput = (message: string): HubSpotError => standardError(400, 'VALIDATION_ERROR', `Invalid input JSON on line 1, column 1: ${message}`);

/**
 * Object not found for a single-object route. UNCONFIRMED wording; the category is the one batch reads report
 * (`OBJECT_NOT_FOUND`, see {@link objectsNotFound}).
 */
export const objectNotFound = (): HubSpotError => standardError(404, 'OBJECT_NOT_FOUND', 'resource not found');

/**
 * One entry of a 207's `errors` for ids a batch could not find — recorded by several public clients' fixtures:
 * `{"status":"error","category":"OBJECT_NOT_FOUND","message":"Could not get some CONTACT objects, they may be deleted or
 * not exist. Check that ids are valid.","context":{"ids":[…]}}`.
 */
export function objectsNotFound(singular: string, ids: readonly string[], traceIds: readonly string[] = []): Record<string, unknown> {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `Could not get some ${singular} objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids: [...ids], ...(traceIds.length > 0 ? { objectWriteTraceId: [...traceIds] } : {}) },
  };
}

/** One property problem in the shape of Error handling's multi-status example ("Property values were not valid: [...]"). */
export interface PropertyProblem {
  name: string;
  error: string;
  message: string;
}

/**
 * "Property values were not valid: [{\"isValid\":false,\"message\":…,\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":…,
 * \"localizedErrorMessage\":…,\"portalId\":…}]" — the multi-status example of Error handling, copied key for key.
 */
export function propertyValuesMessage(problems: readonly PropertyProblem[], portalId: number): string {
  const entries = problems.map((problem) => ({ isValid: false, message: problem.message, error: problem.error, name: problem.name, localizedErrorMessage: problem.message, portalId }));
  return `Property values were not valid: ${JSON.stringify(entries)}`;
}

/**
 * "Contact already exists. Existing ID: 6001" with category CONFLICT — recorded in HubSpot/hubspot-api-php#59 and
 * HubSpot/hubspot-api-python#51; in a multi-status answer with `context: {"objectWriteTraceId": […], "existingId": […]}`
 * (recorded in a public Go client's fixtures, see SOURCES.md).
 */
export const contactExistsMessage = (existingId: string): string => `Contact already exists. Existing ID: ${existingId}`;
