/**
 * The pagination styles of list endpoints: page and size, offset and limit, a cursor in the body, a `Link` header,
 * or none. Each style answers two questions: the URL of the first page, and the URL after a page (null at the end).
 */
import type { Pagination } from './config';
import type { HttpClient, HttpResponse } from './client';
import { HttpRequestError } from './client';
import { getPath } from './paths';

export interface PageStep {
  url: URL;
  /** The value of the offset or page number this URL asked for, or the cursor, for the next step. */
  position: number | string | null;
}

/** The first page of a listing: `query` holds the fixed and filter parameters. */
export function firstPage(pagination: Pagination, client: HttpClient, path: string, query: Record<string, string>, size: number): PageStep {
  const params = { ...query };
  switch (pagination.style) {
    case 'page':
      params[pagination.pageParam] = String(pagination.firstPage);
      params[pagination.sizeParam] = String(size);
      return { url: client.url(path, params), position: pagination.firstPage };
    case 'offset':
      params[pagination.offsetParam] = '0';
      params[pagination.limitParam] = String(size);
      return { url: client.url(path, params), position: 0 };
    case 'cursor':
      if (pagination.sizeParam) params[pagination.sizeParam] = String(size);
      return { url: client.url(path, params), position: null };
    case 'link':
      if (pagination.sizeParam) params[pagination.sizeParam] = String(size);
      return { url: client.url(path, params), position: null };
    case 'none':
      return { url: client.url(path, params), position: null };
  }
}

/** The page after `step`, given what it returned; null when it was the last. */
export function nextPage(pagination: Pagination, client: HttpClient, step: PageStep, response: HttpResponse, body: unknown, itemCount: number): PageStep | null {
  switch (pagination.style) {
    // A short page is not the end: many APIs cap the page size below what was asked without saying so ("the
    // maxResults in the request is overridden if it is above the limit… rely on pagination", Atlassian), and ending
    // there would leave the rest unlisted, and read as deleted by a delete scan. Only an empty page ends a listing.
    case 'page': {
      if (itemCount === 0) return null;
      const page = (step.position as number) + 1;
      const url = new URL(step.url);
      url.searchParams.set(pagination.pageParam, String(page));
      return { url, position: page };
    }
    case 'offset': {
      if (itemCount === 0) return null;
      const offset = (step.position as number) + itemCount;
      const url = new URL(step.url);
      url.searchParams.set(pagination.offsetParam, String(offset));
      return { url, position: offset };
    }
    case 'cursor': {
      const cursor = getPath(body, pagination.cursorPath);
      if (cursor === undefined || cursor === null || cursor === '' || cursor === false) return null;
      if (typeof cursor !== 'string' && typeof cursor !== 'number') {
        throw new HttpRequestError(`${response.method} ${response.url}: the cursor at "${pagination.cursorPath}" (list.pagination.cursorPath) is not text or a number`, { retryable: false });
      }
      if (String(cursor) === String(step.position)) {
        throw new HttpRequestError(`${response.method} ${response.url}: the API returned the same cursor again (${String(cursor)}): the listing would never end`, { retryable: false });
      }
      const url = new URL(step.url);
      url.searchParams.set(pagination.cursorParam, String(cursor));
      return { url, position: String(cursor) };
    }
    case 'link': {
      const next = linkTarget(response.headers.get('link'), 'next');
      if (next === null) return null;
      const url = new URL(next, step.url);
      if (!client.sameOrigin(url)) {
        throw new HttpRequestError(`${response.method} ${response.url}: the Link header points to another origin (${url.origin}); credentials are only sent to the API's own`, { retryable: false });
      }
      return { url: client.withAuthQuery(url), position: null };
    }
    case 'none':
      return null;
  }
}

/** The target of one relation in an RFC 8288 Link header, or null. */
export function linkTarget(header: string | null, relation: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(match[2] ?? '');
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (relations.includes(relation)) return match[1] ?? null;
  }
  return null;
}
