import { existsSync } from 'node:fs';

/**
 * Decides what a test does when something it needs from outside npm (Chromium, PostgreSQL) is missing:
 * under CI=true the test must fail, elsewhere it is skipped with the reason and how to get it.
 */
export interface Requirement {
  available: boolean;
  /** Why it is missing and how to install it; empty when available. */
  reason: string;
}

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumRequirement(): Requirement {
  return existsSync(CHROMIUM_PATH)
    ? { available: true, reason: '' }
    : { available: false, reason: `Chromium not found at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium"` };
}

export function postgresRequirement(): Requirement {
  return process.env.DATABASE_URL
    ? { available: true, reason: '' }
    : {
        available: false,
        reason: 'DATABASE_URL is not set: start PostgreSQL on loopback and set it (.ci/run shows how), e.g. postgres://postgres@127.0.0.1:54329/postgres',
      };
}

/**
 * Returns true when the suite should be skipped. Under CI a missing requirement throws instead, so the run fails
 * rather than passing silently.
 */
export function skipUnless(requirement: Requirement): boolean {
  if (requirement.available) return false;
  if (inCI) throw new Error(`required under CI: ${requirement.reason}`);
  console.warn(`skipped: ${requirement.reason}`);
  return true;
}
