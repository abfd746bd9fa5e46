/**
 * Every error the BambooHR fake sends, beside its source. BambooHR answers most errors with an empty body and the
 * reason in a header: "We provide a header "X-BambooHR-Error-Messsage:" (the extra "s" in the message will be there)
 * that usually gives additional information" (BambooHR help, "API Error Code Definitions",
 * bamboohr.screenstepslive.com/m/53907/l/587843), while the OpenAPI description names it `x-bamboohr-error-message`
 * ("The error message is returned in the `x-bamboohr-error-message` response header; the body is empty", Benefit
 * Coverages 400). The fake sends the spelling of the OpenAPI description; a client should read both. The wording of
 * each message is UNCONFIRMED unless said otherwise: the status codes are documented, the messages are not.
 */

export const errorMessageHeader = 'X-BambooHR-Error-Message';

/** A response the fake answers with instead of the route's normal result. */
export class BambooHrError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly body = '',
  ) {
    super(message);
  }
}

/** The status and its reason header, empty body. */
export function headerError(status: number, message: string, extraHeaders: Record<string, string> = {}): BambooHrError {
  return new BambooHrError(status, message, { [errorMessageHeader]: message, ...extraHeaders });
}

// Technical Overview, "Standard HTTP Responses": 401 "Your API key is missing." (no body documented).
export const unauthorized = (): BambooHrError => headerError(401, 'Invalid API key');

// 404 "The resource was not found with the given identifier" (Technical Overview); Get/Update Employee: "The employee
// does not exist."
export const employeeNotFound = (): BambooHrError => headerError(404, 'Employee not found');

export const noSuchEndpoint = (): BambooHrError => headerError(404, 'Not found');

// Create Employee 400: "If the posted XML or JSON is invalid or the minimum fields are not provided." At minimum "a
// first name and last name".
export const missingNames = (): BambooHrError => headerError(400, 'firstName and lastName are required');
export const malformedJson = (): BambooHrError => headerError(400, 'Malformed JSON');

// Request Custom Report: a body sent with any Content-Type other than exactly `application/json` "is parsed as XML
// instead, which typically results in `400 Malformed XML`".
export const malformedXml = (): BambooHrError => headerError(400, 'Malformed XML');

// Get Employee / Request Custom Report: "The maximum number of fields per request is 400" → 400.
export const tooManyFields = (): BambooHrError => headerError(400, 'Too many fields requested; the maximum is 400');

// Technical Overview: "406 Not Acceptable — The request contains references to non-existent fields."
export const unknownFields = (names: string[]): BambooHrError => headerError(406, `Unknown field(s): ${names.join(', ')}`);

// Technical Overview: "409 Conflict — The request attempts to create a duplicate. For employees, duplicate emails
// are not allowed." Update Employee 409: "A field was given an invalid value (e.g., duplicate email, invalid
// state/country, incompatible pay type)."
export const duplicateEmail = (field: string, value: string): BambooHrError => headerError(409, `Duplicate email: ${field} ${value} is already in use by another employee`);
export const invalidValue = (field: string, detail: string): BambooHrError => headerError(409, `Invalid value for ${field}: ${detail}`);

// Get Employee Table Data 404: "The employee or table does not exist."; Get Changed Employee Table Data 404: "The
// specified table does not exist."
export const noSuchTable = (table: string): BambooHrError => headerError(404, `Table ${table} does not exist`);

// Add Table Row 400: "The posted JSON or XML is malformed, or required fields are missing." The fake has no Add Table
// Row route; its screens (`enterRow`) check rows the same way.
export const badRow = (detail: string): BambooHrError => headerError(400, `Invalid row: ${detail}`);

// Get Changed Employee IDs 400: "The since parameter is missing, is not a valid ISO 8601 date, or the type parameter
// is invalid."
export const badSince = (): BambooHrError => headerError(400, 'The since parameter must be a valid ISO 8601 date');
export const badChangeType = (): BambooHrError => headerError(400, 'The type parameter must be one of inserted, updated, deleted, all');

// Request Custom Report 404: "Returned when an unsupported `format` value is supplied, or when `format` is omitted and
// the `Accept` header is not one of the supported exact values".
export const reportFormatNotFound = (): BambooHrError => headerError(404, 'Report format not found');

// Technical Overview: "429 Limit Exceeded — The account has reached its employee limit." No Retry-After: waiting
// does not help.
export const employeeLimit = (): BambooHrError => headerError(429, 'The account has reached its employee limit');

/**
 * Throttling. Technical Overview: "API requests can be throttled if BambooHR deems them to be too frequent.
 * Implementations should always be ready for a 503 Service Unavailable response"; "API Error Code Definitions": 503
 * "We provide a header that states "Retry-After" to let you know when to try again". "Planned Changes to the API"
 * (documentation.bamboohr.com/docs/planned-changes-to-the-api): from September 16, 2026 the status is 429 instead,
 * and "Every rate-limited response includes a `Retry-After` header". The limits themselves are not published.
 */
export const throttled = (status: 503 | 429, retryAfterSeconds: number): BambooHrError =>
  headerError(status, 'Rate limit exceeded', { 'Retry-After': String(retryAfterSeconds) });

// Create Webhook 400 (WebhookBadRequest: {errors: [{error, issues}]}): "missing `format`, missing `monitorFields` when
// required by the selected events, URL not starting with `https://`, or an invalid `format` value."
export function webhookBadRequest(issues: string[]): BambooHrError {
  return new BambooHrError(400, issues.join('; '), { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ error: 'Invalid request body', issues }] }));
}

/**
 * Create Webhook 403 (OpenAPI description, `create-webhook`): "The authenticated user does not have permission to
 * access one or more of the specified fields. The response lists which `monitorFields`, `postFields`, and
 * `unknownFields` caused the violation", in `WebhookError` entries (`WebhookSubErrorProperty`: `error`,
 * `unknownFields: [{id, name}]` with a null id for a name matching no field, `monitorFields: [{id, name}]`). "Permissioned
 * Webhooks" sends a webhook's author to Get Monitor Fields "to see what fields you can monitor": a monitored field off
 * that list is one of the `monitorFields` here. The `error` wording is UNCONFIRMED (the schema gives no example).
 */
export function webhookFieldsDenied(denied: { unknownFields: string[]; monitorFields: Array<{ id: number; name: string }> }): BambooHrError {
  const entry = {
    error: 'Permission denied to the following fields',
    ...(denied.unknownFields.length > 0 ? { unknownFields: denied.unknownFields.map((name) => ({ id: null, name })) } : {}),
    ...(denied.monitorFields.length > 0 ? { monitorFields: denied.monitorFields } : {}),
  };
  return new BambooHrError(403, entry.error, { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [entry] }));
}

// Get/Update/Delete Webhook 404 with WebhookError {errors: [{error}]}; the wording is the schema's own example.
export const webhookNotFound = (id: string): BambooHrError =>
  new BambooHrError(404, `No webhook was found with ID: ${id}.`, { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ error: `No webhook was found with ID: ${id}.` }] }));
