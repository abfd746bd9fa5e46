/**
 * Rate limit bookkeeping for the fake, all read from the fake's clock. Limits and header names follow "Rate
 * limits", https://developer.zendesk.com/api-reference/introduction/rate-limits/ ("Monitoring your request
 * activity", "Zendesk Support plan limits", "Endpoint rate limits").
 */

/** Requests per minute by plan ("Zendesk Suite plan limits": Team 200, Growth 400, Professional 400, Enterprise 700, Enterprise Plus 2500). */
export const planLimits = { team: 200, growth: 400, professional: 400, enterprise: 700, enterprise_plus: 2500 } as const;
export type ZendeskPlan = keyof typeof planLimits;

export interface BudgetState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (the `ratelimit-reset` value and, on a 429, `Retry-After`). */
  resetSeconds: number;
}

/**
 * A per-minute budget. Zendesk documents "the number of requests remaining in the current minute" with a
 * `ratelimit-reset` countdown; the fake uses windows aligned to the clock's minutes, which gives that countdown.
 */
export class MinuteBudget {
  private window = -1;
  private used = 0;

  constructor(public limit: number) {}

  /** Counts one request if the budget allows it. */
  take(nowMs: number): BudgetState {
    const state = this.peek(nowMs);
    if (state.allowed) {
      this.used++;
      state.remaining = Math.max(0, this.limit - this.used);
    }
    return state;
  }

  peek(nowMs: number): BudgetState {
    const window = Math.floor(nowMs / 60_000);
    if (window !== this.window) {
      this.window = window;
      this.used = 0;
    }
    const resetSeconds = Math.max(1, 60 - Math.floor((nowMs % 60_000) / 1000));
    return { allowed: this.used < this.limit, limit: this.limit, remaining: Math.max(0, this.limit - this.used), resetSeconds };
  }
}

/**
 * "Update Ticket: 30 updates per 10 minutes per user per ticket" ("Endpoint rate limits"), as a sliding
 * window per (user, ticket).
 */
export class TicketUpdateBudget {
  private readonly writes = new Map<string, number[]>();

  constructor(
    public limit = 30,
    private readonly windowMs = 10 * 60_000,
  ) {}

  /** Counts one update; returns the seconds to wait when the pair is over its budget, else null. */
  take(userId: number, ticketId: number, nowMs: number): number | null {
    const key = `${userId}:${ticketId}`;
    const recent = (this.writes.get(key) ?? []).filter((at) => at > nowMs - this.windowMs);
    if (recent.length >= this.limit) {
      this.writes.set(key, recent);
      return Math.max(1, Math.ceil((recent[0]! + this.windowMs - nowMs) / 1000));
    }
    recent.push(nowMs);
    this.writes.set(key, recent);
    return null;
  }
}
