/**
 * GitHub's error bodies. Two documented shapes, both from the OpenAPI description
 * (github/rest-api-description, components/schemas):
 *   basic-error      { message, documentation_url, url?, status? }
 *   validation-error { message, documentation_url, errors?: [{ resource, field, code, value?, message? }] }
 * Real responses since 2023 also carry `status` as a string ("404"); the brief's example and recorded answers
 * show it, so every error body here has it.
 */

/** One entry of a 422 `errors` array; `code` values are the ones listed in the docs. */
export interface ValidationErrorItem {
  resource: string;
  code: 'missing' | 'missing_field' | 'invalid' | 'already_exists' | 'unprocessable' | 'custom';
  field?: string;
  value?: unknown;
  message?: string;
}

/** A response the fake answers instead of the normal one; thrown by handlers and caught by the pipeline. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl: string,
    readonly extra: { errors?: ValidationErrorItem[]; url?: string } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return {
      message: this.message,
      ...(this.extra.errors ? { errors: this.extra.errors } : {}),
      ...(this.extra.url ? { url: this.extra.url } : {}),
      documentation_url: this.documentationUrl,
      status: String(this.status),
    };
  }
}

export const docs = {
  rest: 'https://docs.github.com/rest',
  listIssues: 'https://docs.github.com/rest/issues/issues#list-repository-issues',
  createIssue: 'https://docs.github.com/rest/issues/issues#create-an-issue',
  getIssue: 'https://docs.github.com/rest/issues/issues#get-an-issue',
  updateIssue: 'https://docs.github.com/rest/issues/issues#update-an-issue',
  rateLimits: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
  secondaryRateLimits:
    'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
  followRedirects: 'https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects',
  createHook: 'https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook',
  updateHook: 'https://docs.github.com/rest/repos/webhooks#update-a-repository-webhook',
  getHook: 'https://docs.github.com/rest/repos/webhooks#get-a-repository-webhook',
  listLabels: 'https://docs.github.com/rest/issues/labels#list-labels-for-a-repository',
} as const;

/** 404 exactly as GitHub words it for unknown routes, unknown resources and hidden private repositories. */
export function notFound(documentationUrl: string = docs.rest): ApiError {
  return new ApiError(404, 'Not Found', documentationUrl);
}

/** 422 "Validation Failed" with an `errors` array (docs: Troubleshooting the REST API › Validation Failed). */
export function validationFailed(documentationUrl: string, errors: ValidationErrorItem[]): ApiError {
  return new ApiError(422, 'Validation Failed', documentationUrl, { errors });
}
