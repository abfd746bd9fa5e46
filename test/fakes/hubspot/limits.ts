/**
 * HubSpot's request limits, as the usage guidelines state them
 * (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines):
 *
 * - Private apps: a burst limit per app per 10 seconds and a daily limit per account shared by every private app —
 *   Free/Starter 100 / 250,000, Professional 190 / 625,000, Enterprise 190 / 1,000,000 ("All private apps in a
 *   HubSpot account collectively share the daily rate limit, but each private app will have its own separate burst
 *   limit", changelog "Increasing our API limits").
 * - Public (OAuth) apps: "110 requests every 10 seconds" per installing account, "This excludes the CRM Search API";
 *   no daily limit, and no daily headers on their responses (changelog "Rate limit headers will now appear for OAuth
 *   authenticated calls").
 * - Search: "rate limited to five requests per second per account" (Search, Limitations), with no rate-limit headers
 *   on its answers.
 *
 * The ten-second window rolls (its policy is TEN_SECONDLY_ROLLING). The daily count resets at midnight; the fake's
 * account keeps UTC (HubSpot resets at midnight in the account's time zone).
 */

export type Tier = 'starter' | 'professional' | 'enterprise';

export const privateAppLimits: Record<Tier, { tenSecondly: number; daily: number }> = {
  starter: { tenSecondly: 100, daily: 250_000 },
  professional: { tenSecondly: 190, daily: 625_000 },
  enterprise: { tenSecondly: 190, daily: 1_000_000 },
};
export const oauthAppTenSecondly = 110;
export const searchPerSecond = 5;
export const tenSecondsMs = 10_000;

/** Requests within a rolling window: at most `limit` in any `windowMs`. */
export class RollingWindow {
  private readonly times: number[] = [];
  constructor(
    public limit: number,
    readonly windowMs: number,
  ) {}

  /** Counts a request at `now` when the window has room; false (and not counted) when it has none. */
  take(now: number): boolean {
    this.drop(now);
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }

  remaining(now: number): number {
    this.drop(now);
    return Math.max(0, this.limit - this.times.length);
  }

  private drop(now: number): void {
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
  }
}

/** Requests per calendar day (UTC). */
export class DailyCount {
  private day = '';
  private used = 0;
  constructor(public limit: number) {}

  take(now: number): boolean {
    this.roll(now);
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  remaining(now: number): number {
    this.roll(now);
    return Math.max(0, this.limit - this.used);
  }

  /** Uses up what is left of today, as a busy day would. */
  exhaust(now: number): void {
    this.roll(now);
    this.used = this.limit;
  }

  private roll(now: number): void {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
  }
}
