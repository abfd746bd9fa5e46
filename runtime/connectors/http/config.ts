/**
 * The `http` connector's `connection` (docs/connectors.md): one zod schema is the source of its type, its defaults and
 * its validation messages. Secrets appear only as `{ "credential": ... }`, so a flow never holds one (SPEC §1).
 */
import { z } from 'zod';

/** A secret by reference only; the same shape as the trigger schema's credentialRef, with a message that shows it. */
const credentialRef = z.strictObject(
  { credential: z.string().min(1, 'must name a stored credential') },
  { error: 'must name a stored credential, as {"credential": "<name>"}: a flow never holds a secret' },
);
const name = z.string({ error: 'must be a non-empty name' }).min(1, 'must be a non-empty name');
const jsonPath = z.string({ error: 'must be a dotted path into the JSON body, e.g. data.items ("" for the body itself)' });
const pathTemplate = z
  .string({ error: 'must be a path below baseUrl, e.g. /contacts/{id}' })
  .regex(/^\//, 'must start with /, e.g. /contacts/{id}');
/** One record's path: without {id}, every record's read, update or delete would go to the same URL. */
const recordPathTemplate = pathTemplate.superRefine((path, context) => {
  if (!path.includes('{id}')) context.addIssue({ code: 'custom', message: `must contain {id}, where the record id goes: write ${JSON.stringify(withIdPlaceholder(path))}` });
});

/** The path with {id} where it marks the id another way (/contacts/:id, /contacts/<id>, /contacts/{{id}}), or after it. */
function withIdPlaceholder(path: string): string {
  const rooted = path.startsWith('/') ? path : `/${path}`;
  const marked = rooted.replace(/:id\b|<id>|\{\{\s*id\s*\}\}|\$\{id\}|\{id\}/i, '{id}');
  if (marked !== rooted) return marked;
  return rooted.endsWith('/') ? `${rooted}{id}/` : `${rooted}/{id}`;
}

export const httpAuthSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('bearer'), token: credentialRef }),
    z.strictObject({ type: z.literal('basic'), username: z.union([name, credentialRef]), password: credentialRef }),
    z.strictObject({ type: z.literal('header'), name, value: credentialRef, prefix: z.string().default('') }),
    z.strictObject({ type: z.literal('query'), name, value: credentialRef }),
  ],
  { error: 'type must be one of bearer, basic, header, query' },
);

export const paginationSchema = z.discriminatedUnion(
  'style',
  [
    z.strictObject({ style: z.literal('page'), pageParam: name.default('page'), sizeParam: name.default('per_page'), firstPage: z.number().int().min(0).default(1) }),
    z.strictObject({ style: z.literal('offset'), offsetParam: name.default('offset'), limitParam: name.default('limit') }),
    z.strictObject({ style: z.literal('cursor'), cursorPath: jsonPath.min(1, 'must name where the next cursor sits in the body'), cursorParam: name.default('cursor'), sizeParam: name.optional() }),
    z.strictObject({ style: z.literal('link'), sizeParam: name.optional() }),
    z.strictObject({ style: z.literal('none') }),
  ],
  { error: 'style must be one of page, offset, cursor, link, none' },
);

const fieldType = z.enum(['string', 'number', 'boolean', 'object', 'array', 'any'], { error: 'must be one of string, number, boolean, object, array, any' });

export const webhookSettingsSchema = z.strictObject({
  signature: z
    .strictObject({
      header: name.default('X-Syncline-Signature'),
      algorithm: z.enum(['sha1', 'sha256', 'sha512'], { error: 'must be one of sha1, sha256, sha512' }).default('sha256'),
      encoding: z.enum(['hex', 'base64'], { error: 'must be hex or base64' }).default('hex'),
      /** Text before the digest in the header, e.g. `sha256=`; empty for a bare digest. */
      prefix: z.string().default('sha256='),
    })
    .default({ header: 'X-Syncline-Signature', algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' }),
  /** Where the record id sits in one event, e.g. `data.object.id`. */
  idPath: jsonPath.min(1).default('id'),
  /** Where the event type sits; a value containing "delete" is a delete, anything else an upsert. */
  typePath: jsonPath.min(1).optional(),
});

export const httpConnectionSchema = z.strictObject({
  baseUrl: z
    .string({ error: 'must be the API base URL, e.g. https://api.example.com/v1' })
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without user, password or query (secrets go in auth as a stored credential, fixed parameters in list.query), e.g. https://api.example.com/v1'),
  auth: httpAuthSchema.optional(),
  /** Sent with every request; secrets belong in auth, never here. */
  headers: z
    .record(z.string(), z.string())
    .refine((headers) => !Object.keys(headers).some((header) => /^(authorization|cookie|x-api-key)$/i.test(header)), 'must not carry secrets: use auth with a stored credential')
    .default({}),
  list: z
    .strictObject({
      path: pathTemplate.optional(),
      itemsPath: jsonPath.default(''),
      pagination: paginationSchema.default({ style: 'none' }),
      pageSize: z.number().int().min(1).max(10_000).default(100),
      /** Query parameter that keeps records with updatedAt at or after a value (inclusive), e.g. updatedAt_gte. */
      updatedSinceParam: name.optional(),
      /** Query parameter that, repeated, keeps the records with these ids (e.g. id=1&id=2): getMany in one request. */
      idsParam: name.optional(),
      /** Query parameter that keeps the records carrying a tag: how a create whose answer was lost is found again. */
      tagParam: name.optional(),
      /** A response header holding the exact number of records the list has (json-server: X-Total-Count). */
      totalHeader: name.optional(),
      /** Fixed query parameters, e.g. the sort that keyset paging needs: records ordered by updatedAt, then id. */
      query: z.record(z.string(), z.string()).default({}),
      /**
       * False: the API has no "changed since" filter it can be trusted with. Every pass lists the whole collection
       * and the runtime compares each record with what it last saw (snapshot change detection); records gone from
       * the listing are deletes.
       */
      changeFeed: z.boolean().default(true),
    })
    .superRefine((list, context) => {
      if (!list.changeFeed && list.updatedSinceParam !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['updatedSinceParam'],
          message: 'is not used when list.changeFeed is false: every pass lists the whole collection; remove one of the two',
        });
      }
    })
    .default({ itemsPath: '', pagination: { style: 'none' }, pageSize: 100, query: {}, changeFeed: true }),
  item: z.strictObject({ path: recordPathTemplate.optional(), itemPath: jsonPath.default('') }).default({ itemPath: '' }),
  create: z.strictObject({ path: pathTemplate.optional() }).default({}),
  update: z.strictObject({ path: recordPathTemplate.optional(), method: z.enum(['PATCH', 'PUT'], { error: 'must be PATCH or PUT' }).default('PATCH') }).default({ method: 'PATCH' }),
  delete: z.strictObject({ path: recordPathTemplate.optional() }).default({}),
  /** The API stores updatedAt as sent (json-server does): the connector stamps it, ISO-8601, on every write. */
  stampUpdatedAt: z.boolean().default(false),
  /** How an update or delete is held to the version read: a GET just before (a short race remains), If-Match with the ETag, or not at all. */
  conditionalWrites: z.enum(['read-check', 'if-match', 'none'], { error: 'must be one of read-check, if-match, none' }).default('read-check'),
  /** List every id on each pass to see hard deletes; turn off for large APIs that report deletes by webhook. */
  scanDeletes: z.boolean().default(true),
  /** Fields the API has, for the editor and validation when the collection is empty. */
  fields: z.record(z.string(), fieldType).default({}),
  timeoutMs: z.number().int().min(50).max(600_000).default(30_000),
  retries: z
    .strictObject({
      attempts: z.number().int().min(1).max(10).default(4),
      baseMs: z.number().int().min(0).max(60_000).default(250),
      /** A Retry-After longer than this is handed back to the engine (SPEC §7) instead of waited out here. */
      maxWaitMs: z.number().int().min(0).max(600_000).default(30_000),
    })
    .default({ attempts: 4, baseMs: 250, maxWaitMs: 30_000 }),
  /** Shared by every trigger that talks to the same API with the same credential. */
  rateLimit: z.strictObject({ requestsPerSecond: z.number().positive().max(10_000), burst: z.number().int().min(1).optional() }).optional(),
  maxConcurrent: z.number().int().min(1).max(64).default(4),
  webhook: webhookSettingsSchema.optional(),
});

export type HttpConnection = z.infer<typeof httpConnectionSchema>;
export type HttpAuth = z.infer<typeof httpAuthSchema>;
export type Pagination = z.infer<typeof paginationSchema>;
export type WebhookSettings = z.infer<typeof webhookSettingsSchema>;

/** Checks an `http` connection; each problem names its path inside `connection`. */
export function checkHttpConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }> {
  const parsed = httpConnectionSchema.safeParse(connection);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    message: issue.code === 'unrecognized_keys' ? `${issue.message}; see docs/connectors.md for the http options` : issue.message,
  }));
}

/** Parses a connection already checked by {@link checkHttpConnection}. */
export function parseHttpConnection(connection: Record<string, unknown>): HttpConnection {
  return httpConnectionSchema.parse(connection);
}
