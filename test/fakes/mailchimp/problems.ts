/**
 * Every error the Mailchimp fake answers, as Mailchimp answers errors: an RFC 7807 problem document ("Errors",
 * https://mailchimp.com/developer/marketing/docs/errors/ — "Error format": `type`, `title`, `status`, `detail`,
 * `instance`; `Content-Type: application/problem+json; charset=utf-8`, `X-Request-Id`, a `Link` to the
 * ProblemDetailDocument schema with rel="describedBy"). The OpenAPI description's default response is the same
 * "Problem Detail Document" with all five members required. Wording marked UNCONFIRMED is the fake's best guess where
 * neither the documentation nor a recorded response gave it.
 */
import { randomUUID } from 'node:crypto';

/** The `type` of every problem ("Errors", the JSON example; the OpenAPI example of `type`). */
export const problemType = 'https://mailchimp.com/developer/marketing/docs/errors/';

export interface FieldError {
  field: string;
  message: string;
}

/** A response the fake answers with instead of the route's result. */
export class MailchimpProblem extends Error {
  readonly instance = randomUUID();
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(`Mailchimp fake ${status} ${title}: ${detail}`);
  }

  body(): Record<string, unknown> {
    return { type: problemType, title: this.title, status: this.status, detail: this.detail, instance: this.instance, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

// Error glossary, 401 APIKeyMissing: "Your request did not include an API key."
export const apiKeyMissing = (): MailchimpProblem => new MailchimpProblem(401, 'API Key Missing', 'Your request did not include an API key.');

// Error glossary, 401 APIKeyInvalid; wording as recorded in public client issues.
export const apiKeyInvalid = (): MailchimpProblem => new MailchimpProblem(401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");

// Error glossary, 404 ResourceNotFound; body recorded in grouparoo's nock fixtures (export-profile.js).
export const resourceNotFound = (): MailchimpProblem => new MailchimpProblem(404, 'Resource Not Found', 'The requested resource could not be found.');

// "Errors", the 405 example in both formats.
export const methodNotAllowed = (allow: string[]): MailchimpProblem =>
  new MailchimpProblem(405, 'Method Not Allowed', "The requested method and resource are not compatible. See the Allow header for this resource's available methods.", null, { Allow: allow.join(', ') });

// Error glossary, 429 TooManyRequests: "You have exceeded the limit of 10 simultaneous connections." The glossary
// names no Retry-After, and the fake sends none.
export const tooManyRequests = (): MailchimpProblem => new MailchimpProblem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.');

// Error glossary, 400 JSONParseError. UNCONFIRMED: the exact detail.
export const jsonParseError = (): MailchimpProblem =>
  new MailchimpProblem(400, 'JSON Parse Error', "We encountered an unspecified JSON parsing error. Please check that your request body is valid JSON.");

/**
 * 400 InvalidResource with the per-field `errors` array; detail recorded in brandonseydel/MailChimp.Net issue #201
 * ("The resource submitted could not be validated. For field-specific details, see the 'errors' array.").
 */
export const invalidResource = (errors: FieldError[], detail = "The resource submitted could not be validated. For field-specific details, see the 'errors' array."): MailchimpProblem =>
  new MailchimpProblem(400, 'Invalid Resource', detail, errors);

// Recorded in VingtCinq/python-mailchimp issues #182 and #222 and mailchimp/APIv3-examples #49: a POST (or a PUT whose
// subscriber hash names nobody) for an address already on the audience.
export const memberExists = (email: string): MailchimpProblem =>
  new MailchimpProblem(400, 'Member Exists', `${email} is already a list member. Use PUT to insert or update list members.`);

// Recorded in ibericode/mailchimp-for-wordpress issue #798 (a PATCH {status: "subscribed"} of a member who had
// unsubscribed) and Setono/SyliusMailchimpPlugin issue #90 (subscribing again someone who unsubscribed through the link
// in a campaign's footer); the same body inside a batch's results in tbar0970/jethro-pmm issue #656.
export const memberInComplianceState = (email: string): MailchimpProblem =>
  new MailchimpProblem(400, 'Member In Compliance State', `${email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.`);

// Recorded in ibericode/mailchimp-for-wordpress issues #666 (POST status subscribed), #673 and #771 (POST status
// pending), and brandonseydel/MailChimp.Net issue #416 (PUT, "AddOrUpdate"): an address deleted with
// actions/delete-permanent, added again.
export const forgottenEmailNotSubscribed = (email: string): MailchimpProblem =>
  new MailchimpProblem(400, 'Forgotten Email Not Subscribed', `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`);

// Recorded in grouparoo/grouparoo plugins/@grouparoo/mailchimp/__tests__/fixtures/export/exportRecord.js (November 2021):
// a DELETE of a member whose GET, before and after, shows status "archived" — body and `Allow: GET, PUT` as here. The
// same detail in amro/gibbon issue #320 and, as a batch operation's result, in hitobito/hitobito's Mailchimp sync specs.
export const memberCannotBeArchived = (): MailchimpProblem =>
  new MailchimpProblem(405, 'Method Not Allowed', 'This list member cannot be removed. Can not archive a contact that is bounced, pending or archived', null, { Allow: 'GET, PUT' });

// "Your merge fields were invalid." with one entry per merge field, as community reports quote it. UNCONFIRMED: the
// per-field messages.
export const invalidMergeFields = (errors: FieldError[]): MailchimpProblem => invalidResource(errors, 'Your merge fields were invalid.');
