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
  /** The listing's first request: a 404 there means no list endpoint, never the end of the list. */
  first: boolean;
}

/** The first page of a listing: `query` holds the fixed and filter parameters. */
export function firstPage(pagination: Pagination, client: HttpClient, path: string, query: Record<string, string>, size: number): PageStep {
  const params = { ...query };
  switch (pagination.style) {
    case 'page':
      params[pagination.pageParam] = String(pagination.firstPage);
      params[pagination.sizeParam] = String(size);
      return { url: client.url(path, params), position: pagination.firstPage, first: true };
    case 'offset':
      params[pagination.offsetParam] = '0';
      params[pagination.limitParam] = String(size);
      return { url: client.url(path, params), position: 0, first: true };
    case 'cursor':
      if (pagination.sizeParam) params[pagination.sizeParam] = String(size);
      return { url: client.url(path, params), position: null, first: true };
    case 'link':
      if (pagination.sizeParam) params[pagination.sizeParam] = String(size);
      return { url: client.url(path, params), position: null, first: true };
    case 'none':
      return { url: client.url(path, params), position: null, first: true };
  }
}

/** The page after `step`, given what it returned; null when it was the last. */
export function nextPage(pagination: Pagination, client: HttpClient, step: PageStep, response: HttpResponse, body: unknown, itemCount: number): PageStep | null {
  switch (pagination.style) {
    // A short page is not the end: many APIs cap the page size below what was asked without saying so ("the
    // maxResults in the request is overridden if it is above the limit… rely on pagination", Atlassian), and ending
    // there would leave the rest unlisted, and read as deleted by a delete scan. Only an empty page ends a listing, or
    // a page the API says is past the last ({@link endsListing}).
    case 'page': {
      if (itemCount === 0) return null;
      const page = (step.position as number) + 1;
      const url = new URL(step.url);
      url.searchParams.set(pagination.pageParam, String(page));
      return { url, position: page, first: false };
    }
    case 'offset': {
      if (itemCount === 0) return null;
      const offset = (step.position as number) + itemCount;
      const url = new URL(step.url);
      url.searchParams.set(pagination.offsetParam, String(offset));
      return { url, position: offset, first: false };
    }
    case 'cursor': {
      const cursor = getPath(body, pagination.cursorPath);
      if (cursor === undefined || cursor === null || cursor === '' || cursor === false) return null;
      if (typeof cursor !== 'string' && typeof cursor !== 'number') {
        throw new HttpRequestError(`${response.method} ${response.url}: the cursor at "${pagination.cursorPath}" (list.pagination.cursorPath) is not text or a number`, { retryable: false });
      }
      const next = String(cursor);
      if (next === String(step.position)) {
        throw new HttpRequestError(`${response.method} ${response.url}: the API returned the same cursor again (${next}): the listing would never end`, { retryable: false });
      }
      // Some APIs put the whole next-page URL where a cursor would be (Django REST framework's `next`, JSON:API's
      // `links.next`). Sent as the cursor parameter it is a cursor the API does not know, and an API that answers one
      // with an empty page ends the listing early, the records after it never read: it is followed, as a Link is.
      if (isPageAddress(next)) {
        return { url: followed(client, step, response, next, `the next page at "${pagination.cursorPath}" (list.pagination.cursorPath)`), position: next, first: false };
      }
      const url = new URL(step.url);
      url.searchParams.set(pagination.cursorParam, next);
      return { url, position: next, first: false };
    }
    case 'link': {
      const next = linkTarget(response.headers.get('link'), 'next');
      if (next === null) return null;
      return { url: followed(client, step, response, next, 'the Link header'), position: null, first: false };
    }
    case 'none':
      return null;
  }
}

/**
 * Whether an answer that is not a success ends the listing at `step`, as an empty page would: in `page` style, a 404
 * for a page after the first. Django REST framework's PageNumberPagination answers a page past the last with
 * `404 {"detail": "Invalid page."}` (`invalid_page_message = _('Invalid page.')`, then `except InvalidPage: raise
 * NotFound(msg)` in paginate_queryset, https://github.com/encode/django-rest-framework/blob/master/rest_framework/pagination.py),
 * where json-server answers an empty page. The first page was found, and only the page number changed since: the API says
 * there is no such page. Nothing else ends a listing, neither a 404 in another style nor any other error, since a
 * listing cut short reads the records after it as deleted (scanIds). A page that a later listing goes on from is no
 * page of its own: read again and found past the end, that listing starts over (index.ts, resumedPage).
 */
export function endsListing(pagination: Pagination, step: PageStep, response: HttpResponse): boolean {
  return pagination.style === 'page' && !step.first && response.status === 404;
}

/**
 * Whether a cursor is the address of the next page: an absolute http(s) URL, or a path from the root with its query
 * (`/v1/items?cursor=NTA`). Only with a query: a standard base64 cursor may start with "/" but never holds a "?".
 */
function isPageAddress(cursor: string): boolean {
  return /^https?:\/\//i.test(cursor) || /^\/[^?]*\?/.test(cursor);
}

/** A next-page address the API handed out (`source`), resolved against the page it came with, on the API's own origin only. */
function followed(client: HttpClient, step: PageStep, response: HttpResponse, address: string, source: string): URL {
  const url = new URL(address, step.url);
  if (!client.sameOrigin(url)) {
    throw new HttpRequestError(`${response.method} ${response.url}: ${source} points to another origin (${url.origin}); credentials are only sent to the API's own`, { retryable: false });
  }
  return client.withAuthQuery(url);
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
