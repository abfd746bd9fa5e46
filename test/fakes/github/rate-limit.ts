/**
 * Primary and secondary rate limits (docs: Rate limits for the REST API; Best practices for using the REST API).
 * One hourly budget per user (5,000) and one per client address for unauthenticated calls (60); every call
 * counts once, except a 304 answer to a conditional request and GET /rate_limit.
 */
import { ApiError, docs } from './api-error';
import type { Clock } from './store';

export interface Budget {
  limit: number;
  remaining: number;
  /** Epoch seconds at which the window ends and the budget refills. */
  resetAt: number;
}

export interface RateLimitSettings {
  limit?: number;
  remaining?: number;
  resetAt?: Date | string | number;
}

export interface SecondaryLimitSettings {
  /** Seconds for the `retry-after` header; null sends none ("If the retry-after response header is present"). */
  retryAfter?: number | null;
  status?: 403 | 429;
}

const windowSeconds = 3600;

export class RateLimiter {
  private readonly budgets = new Map<string, Budget>();
  private readonly overrides = new Map<string, RateLimitSettings>();
  private secondaryLeft = 0;
  private secondary: Required<SecondaryLimitSettings> = { retryAfter: 60, status: 403 };
  /** "If you exceed your primary rate limit, you will receive a 403 or 429 response". */
  primaryStatus: 403 | 429 = 403;

  constructor(
    private readonly clock: Clock,
    private readonly limits: { authenticated: number; unauthenticated: number },
  ) {}

  /** The budget for a user (`login`) or for unauthenticated calls (`null`), refilled if its window ended. */
  budget(login: string | null): Budget {
    const key = budgetKey(login);
    const now = this.clock.nowSeconds();
    let budget = this.budgets.get(key);
    if (!budget || now >= budget.resetAt) {
      const limit = this.overrides.get(key)?.limit ?? (login === null ? this.limits.unauthenticated : this.limits.authenticated);
      budget = { limit, remaining: limit, resetAt: now + windowSeconds };
      this.budgets.set(key, budget);
    }
    return budget;
  }

  /** Sets limit, remaining and reset for one user, for unauthenticated calls (`null`), or for everyone. */
  set(settings: RateLimitSettings, login?: string | null): void {
    const keys = login === undefined ? ['*', ...this.budgets.keys()] : [budgetKey(login)];
    for (const key of keys) {
      if (key === '*') {
        if (settings.limit !== undefined) {
          this.limits.authenticated = settings.limit;
          this.limits.unauthenticated = settings.limit;
        }
        continue;
      }
      this.overrides.set(key, { ...this.overrides.get(key), ...settings });
      const budget = this.budget(key === '(unauthenticated)' ? null : key);
      if (settings.limit !== undefined) {
        budget.remaining = Math.min(budget.remaining, settings.limit);
        budget.limit = settings.limit;
      }
      if (settings.remaining !== undefined) budget.remaining = settings.remaining;
      if (settings.resetAt !== undefined) {
        budget.resetAt = typeof settings.resetAt === 'number' ? settings.resetAt : Math.floor(new Date(settings.resetAt).getTime() / 1000);
      }
    }
  }

  /** The answer for a caller whose budget is spent, or null. */
  refusal(login: string | null, userId: number | null, clientAddress: string): ApiError | null {
    const budget = this.budget(login);
    if (budget.remaining > 0) return null;
    // "you will receive a 403 or 429 response, and the x-ratelimit-remaining header will be 0" (Exceeding the
    // rate limit). The message is GitHub's; the docs only describe it.
    const message =
      login === null
        ? `API rate limit exceeded for ${clientAddress}. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)`
        : `API rate limit exceeded for user ID ${userId ?? login}.`;
    return new ApiError(this.primaryStatus, message, docs.rateLimits);
  }

  charge(login: string | null): void {
    const budget = this.budget(login);
    budget.remaining = Math.max(0, budget.remaining - 1);
  }

  /** The next `count` calls meet a secondary rate limit. */
  triggerSecondary(count: number, settings: SecondaryLimitSettings = {}): void {
    this.secondaryLeft = count;
    this.secondary = { retryAfter: settings.retryAfter === undefined ? 60 : settings.retryAfter, status: settings.status ?? 403 };
  }

  /** A secondary-limit answer if one is pending (docs: About secondary rate limits; Exceeding the rate limit). */
  secondaryRefusal(requestId: string): ApiError | null {
    if (this.secondaryLeft <= 0) return null;
    this.secondaryLeft -= 1;
    const headers: Record<string, string> = this.secondary.retryAfter === null ? {} : { 'retry-after': String(this.secondary.retryAfter) };
    return new ApiError(
      this.secondary.status,
      `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
      docs.secondaryRateLimits,
      {},
      headers,
    );
  }

  /** Docs, Checking the status of your rate limit: the five x-ratelimit-* headers. */
  headers(login: string | null): Record<string, string> {
    const budget = this.budget(login);
    return {
      'x-ratelimit-limit': String(budget.limit),
      'x-ratelimit-remaining': String(budget.remaining),
      'x-ratelimit-reset': String(budget.resetAt),
      'x-ratelimit-used': String(budget.limit - budget.remaining),
      'x-ratelimit-resource': 'core',
    };
  }
}

function budgetKey(login: string | null): string {
  return login === null ? '(unauthenticated)' : login.toLowerCase();
}
