/**
 * What a connector learns about its site once, when it opens: whose token it holds (`core_webservice_get_site_info`
 * answers the user id) and which functions the token's external service includes. The token's own account is never
 * part of the users collection, nor of enrolments read one record per user — a sync must not suspend the account it
 * works through (its own enrolments, one record each, are listed like anyone's) — and a function missing from the
 * service is named before any pass runs, instead of failing one call at a time.
 */
import { ConnectorError, type WriteResult } from '../types';
import { MoodleAccessError, type MoodleClient } from './client';
import { refusedResult } from './batches';

export interface SiteInfo {
  /** The token's user. */
  userid: number;
  sitename: string;
  functions: ReadonlySet<string>;
}

export async function loadSiteInfo(client: MoodleClient): Promise<SiteInfo> {
  const answer = (await client.call('core_webservice_get_site_info', {}, 'repeatable')) as { userid?: unknown; sitename?: unknown; functions?: unknown } | null;
  if (typeof answer?.userid !== 'number' || !Array.isArray(answer.functions)) {
    throw new ConnectorError('core_webservice_get_site_info: expected the site information with userid and functions');
  }
  const functions = new Set(answer.functions.map((entry) => String((entry as { name?: unknown }).name)));
  return { userid: answer.userid, sitename: String(answer.sitename ?? ''), functions };
}

/** Refuses to open a collection whose reads the token's service does not allow, naming every missing function. */
export function requireFunctions(site: SiteInfo, collection: string, names: readonly string[]): void {
  const missing = names.filter((name) => !site.functions.has(name));
  if (missing.length === 0) return;
  throw new MoodleAccessError(
    `the token's external service lacks ${missing.join(', ')}, which the ${collection} collection reads with; add ${missing.length === 1 ? 'it' : 'them'} under Site administration > Server > Web services > External services > Functions`,
    'accessexception',
  );
}

/** A write whose function the token's service lacks fails without a call, saying which function to add. */
export function missingFunction(site: SiteInfo, name: string): WriteResult | null {
  if (site.functions.has(name)) return null;
  return refusedResult(`the token's external service lacks ${name}; add it under Site administration > Server > Web services > External services > Functions`);
}
