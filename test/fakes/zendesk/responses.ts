/**
 * Every error body the Zendesk fake sends, each beside the source it copies. Bodies marked UNCONFIRMED are
 * the fake's best guess where no document or recorded response gave the exact wording; the status code next
 * to them is documented unless said otherwise. SOURCES.md in this folder lists the same sources by behaviour.
 */

/** A response the fake answers with instead of the route's normal result. */
export class ZendeskError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`Zendesk fake ${status}: ${JSON.stringify(body)}`);
  }
}

// https://support.zendesk.com/hc/en-us/articles/4408831452954 (comment quoting curl output: `{"error":"Couldn't
// authenticate you"}`) and https://developer.zendesk.com/api-reference/introduction/security-and-auth/.
export const couldNotAuthenticate = (): ZendeskError => new ZendeskError(401, { error: "Couldn't authenticate you" });

// Recorded response, blakmatrix/node-zendesk test/fixtures/organizations_test_delete_not_found_organization.json.
export const recordNotFound = (): ZendeskError => new ZendeskError(404, { error: 'RecordNotFound', description: 'Not found' });

// 422 with this envelope: zendesk/zendesk_api_client_rb issues #91 and #492, Speedygeek/ZendeskApi_v2 issue #309
// (recorded bodies); the per-field `details` entries below follow the same shape.
export function recordInvalid(details: Record<string, Array<Record<string, unknown>>>): ZendeskError {
  return new ZendeskError(422, { error: 'RecordInvalid', description: 'Record validation errors', details });
}

// Creating a ticket with neither `comment` nor `description` (also what a body without the `ticket` envelope
// becomes, see server.ts): zendesk_api_client_rb #492 records
// {"description":"Description: cannot be blank","error":"BlankValue","ticket_field_id":…,"ticket_field_type":"FieldDescription"}.
export const descriptionBlank = (descriptionFieldId: number): ZendeskError =>
  recordInvalid({
    base: [{ description: 'Description: cannot be blank', error: 'BlankValue', ticket_field_id: descriptionFieldId, ticket_field_type: 'FieldDescription' }],
  });

// "Once a ticket is closed (as distinct from solved), it can't be reopened" — Creating and updating tickets,
// https://developer.zendesk.com/documentation/ticketing/managing-tickets/creating-and-updating-tickets/
// ("Creating a follow-up ticket"). Wording "Status: closed prevents ticket update" with `details.status` and
// error "ClosedTicket": recorded bodies quoted in public client tests (Revere::Zendesk specs; a chatbot
// adapter's test_append_returns_ticket_closed_on_422_closed).
export const closedTicket = (): ZendeskError =>
  recordInvalid({ status: [{ description: 'Status: closed prevents ticket update', error: 'ClosedTicket' }] });

// Status 409 is documented — "Protecting against ticket update collisions",
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#protecting-against-ticket-update-collisions
// and the Tags API's "Safe Update" section. UNCONFIRMED: the body's wording (docs: "returns a message to let you
// know if one occurs").
export const updateConflict = (): ZendeskError =>
  new ZendeskError(409, {
    error: 'UpdateConflict',
    description: 'Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.',
  });

// Recorded 429 bodies for the incremental endpoints: cloudbees-oss/zendesk-java-client issue #319 and
// airbytehq/airbyte issue #11899.
export const incrementalRateLimited = (retryAfter: number): ZendeskError =>
  new ZendeskError(
    429,
    { error: 'APIRateLimitExceeded', description: 'Number of allowed incremental export API requests per minute exceeded' },
    { 'Retry-After': String(retryAfter) },
  );

// 429 + Retry-After: "Rate limits", https://developer.zendesk.com/api-reference/introduction/rate-limits/
// ("Monitoring your request activity"). UNCONFIRMED: the body, modelled on the recorded incremental one above.
export const accountRateLimited = (retryAfter: number, description = 'Number of allowed API requests per minute exceeded'): ZendeskError =>
  new ZendeskError(429, { error: 'APIRateLimitExceeded', description }, { 'Retry-After': String(retryAfter) });

// The historical wording is recorded by several exporters ("Too recent start_time. Use a start_time older than
// 5 minutes", 422 InvalidValue — e.g. treasure-data/embulk-input-zendesk). The limit became one minute in
// October 2024 ("Announcing a new limit for the Incremental Export API",
// https://support.zendesk.com/hc/en-us/articles/8143500919322). UNCONFIRMED: that the error still exists with
// "1 minute" in its text.
export const tooRecentStartTime = (): ZendeskError =>
  new ZendeskError(422, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 1 minute' });

// UNCONFIRMED bodies for malformed incremental requests; the fake needs some answer and documents none.
export const invalidIncrementalParameter = (description: string): ZendeskError => new ZendeskError(400, { error: 'InvalidPaginationParameter', description });

// "You may get a text/plain response in case of an error like a bad request" — Requests,
// https://developer.zendesk.com/api-reference/introduction/requests/ ("Request format").
export const badRequestText = (): ZendeskError => new ZendeskError(400, 'Bad Request');
