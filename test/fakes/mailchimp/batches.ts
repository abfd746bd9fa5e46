/**
 * Batch operations (`/batches`), as the API reference ("Batch Operations") and the guide "Run Async Requests with the
 * Batch Endpoint" (https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/) describe them:
 *
 * - `POST /batches` takes `{operations: [{method, path, params?, body?, operation_id?}]}` — `path` relative to /3.0,
 *   `params` the query of a GET, `body` "a string containing the JSON body" — and answers 200 with the batch at status
 *   `pending`.
 * - The batch runs in the background; `GET /batches/{batch_id}` shows `status` (pending, preprocessing, started,
 *   finalizing, finished), `total_operations`, `finished_operations` ("includes operations that returned an error"),
 *   `errored_operations`, `submitted_at`, `completed_at` and, once finished, `response_body_url`: "the URL of the
 *   gzipped archive of the results of all the operations".
 * - "Since only one batch request is run at a time" (Delete batch request): batches run one after another.
 * - The archive is a gzipped tar of JSON files; each holds an array of `{status_code, operation_id, response}` with
 *   `response` the operation's response body as a JSON string (as client libraries read it, e.g. the results reader of
 *   mailchimp-marketing-python users). UNCONFIRMED: the names of the files inside.
 * - `response_body_url` is a pre-signed S3 address: it takes no Mailchimp credentials, and S3 refuses a request that
 *   also sends an Authorization header ("Only one auth mechanism allowed", S3's InvalidArgument).
 *
 * Time: a batch starts `startDelaySeconds` after it was submitted (or after the one before it finished) and then
 * completes `operationsPerSecond` operations a second of the fake's clock; operations take effect as they complete.
 */
import { randomBytes } from 'node:crypto';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { invalidResource, resourceNotFound } from './problems';
import { mailchimpTime } from './store';

export interface BatchOperationInput {
  method: string;
  path: string;
  params?: Record<string, unknown>;
  body?: string;
  operation_id?: string;
}

export interface OperationResult {
  status_code: number;
  operation_id: string | null;
  response: string;
}

interface BatchRecord {
  id: string;
  operations: BatchOperationInput[];
  submittedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  results: OperationResult[];
  archiveToken: string;
  archive: Promise<Buffer> | null;
}

/** Runs one operation as the API would run the same request, and answers status and body. */
export type OperationRunner = (operation: BatchOperationInput) => { status: number; body: unknown };

export interface BatchTiming {
  startDelaySeconds: number;
  operationsPerSecond: number;
}

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export class BatchQueue {
  private readonly batches: BatchRecord[] = [];

  constructor(
    private readonly now: () => number,
    private readonly run: OperationRunner,
    readonly timing: BatchTiming,
  ) {}

  /** `POST /batches`: checks the body's shape and queues the batch. */
  submit(body: unknown): BatchRecord {
    const operations = (body as { operations?: unknown } | null)?.operations;
    if (!Array.isArray(operations)) throw invalidResource([{ field: 'operations', message: 'This value should not be blank.' }]);
    operations.forEach((operation: unknown, index) => {
      const op = operation as Record<string, unknown> | null;
      if (typeof op !== 'object' || op === null) throw invalidResource([{ field: `operations.item:${index}`, message: 'Data presented is not one of the accepted types: object.' }]);
      if (typeof op.method !== 'string' || !methods.includes(op.method)) throw invalidResource([{ field: `operations.item:${index}.method`, message: `Value must be one of: ${methods.join(', ')}` }]);
      if (typeof op.path !== 'string' || !op.path.startsWith('/')) throw invalidResource([{ field: `operations.item:${index}.path`, message: 'This value should not be blank.' }]);
      if (op.body !== undefined && typeof op.body !== 'string') throw invalidResource([{ field: `operations.item:${index}.body`, message: 'Data presented is not one of the accepted types: string.' }]);
      if (op.operation_id !== undefined && typeof op.operation_id !== 'string') throw invalidResource([{ field: `operations.item:${index}.operation_id`, message: 'Data presented is not one of the accepted types: string.' }]);
    });
    this.catchUp();
    const batch: BatchRecord = {
      id: randomBytes(5).toString('hex'),
      operations: operations as BatchOperationInput[],
      submittedAt: this.now(),
      startedAt: null,
      completedAt: null,
      results: [],
      archiveToken: randomBytes(12).toString('hex'),
      archive: null,
    };
    this.batches.push(batch);
    return batch;
  }

  get(id: string): BatchRecord {
    this.catchUp();
    const batch = this.batches.find((candidate) => candidate.id === id);
    if (!batch) throw resourceNotFound();
    return batch;
  }

  list(): BatchRecord[] {
    this.catchUp();
    return [...this.batches];
  }

  /**
   * `DELETE /batches/{batch_id}`: "Stops a batch request from running. Since only one batch request is run at a time,
   * this can be used to cancel a long running request. The results of any completed operations will not be available
   * after this call." (Delete batch request). Operations that ran stay done; the rest never run.
   */
  remove(id: string): void {
    this.catchUp();
    const index = this.batches.findIndex((candidate) => candidate.id === id);
    if (index < 0) throw resourceNotFound();
    this.batches.splice(index, 1);
  }

  /** Runs every operation that is due by now, batch after batch. */
  catchUp(): void {
    const now = this.now();
    let freeFrom = 0;
    for (const batch of this.batches) {
      if (batch.completedAt !== null) {
        freeFrom = batch.completedAt;
        continue;
      }
      const start = batch.startedAt ?? Math.max(batch.submittedAt + this.timing.startDelaySeconds * 1000, freeFrom);
      if (now < start) return;
      batch.startedAt = start;
      const due = Math.min(batch.operations.length, Math.floor(((now - start) / 1000) * this.timing.operationsPerSecond));
      while (batch.results.length < due) batch.results.push(this.runOne(batch.operations[batch.results.length] as BatchOperationInput));
      if (batch.results.length < batch.operations.length) return;
      batch.completedAt = Math.max(start, start + Math.ceil((batch.operations.length / this.timing.operationsPerSecond) * 1000));
      freeFrom = batch.completedAt;
    }
  }

  private runOne(operation: BatchOperationInput): OperationResult {
    const { status, body } = this.run(operation);
    return { status_code: status, operation_id: operation.operation_id ?? null, response: body === undefined || body === null ? '' : JSON.stringify(body) };
  }

  /** The batch as `GET /batches/{batch_id}` shows it ("Batch Operations" › the status of a batch request). */
  json(batch: BatchRecord, baseUrl: string): Record<string, unknown> {
    const finished = batch.completedAt !== null;
    return {
      id: batch.id,
      status: finished ? 'finished' : batch.startedAt === null ? 'pending' : 'started',
      total_operations: batch.operations.length,
      finished_operations: batch.results.length,
      errored_operations: batch.results.filter((result) => result.status_code >= 400).length,
      submitted_at: mailchimpTime(batch.submittedAt),
      completed_at: finished ? mailchimpTime(batch.completedAt) : '',
      response_body_url: finished ? `${baseUrl}/batch-results/${batch.id}.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${batch.archiveToken}` : '',
      _links: [{ rel: 'self', href: `${baseUrl}/3.0/batches/${batch.id}`, method: 'GET' }],
    };
  }

  /** The results archive of a finished batch, if `signature` is the one its URL carries. */
  archive(id: string, signature: string | null): Promise<Buffer> | null {
    const batch = this.batches.find((candidate) => candidate.id === id);
    if (!batch || batch.completedAt === null || signature !== batch.archiveToken) return null;
    batch.archive ??= gzippedTar(batch);
    return batch.archive;
  }
}

/** Results in JSON files of at most 100 operations each, tarred and gzipped. */
async function gzippedTar(batch: BatchRecord): Promise<Buffer> {
  const tar = pack();
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  tar.pipe(gzip);
  tar.entry({ name: `${batch.id}/`, type: 'directory' });
  for (let index = 0; index < batch.results.length; index += 100) {
    tar.entry({ name: `${batch.id}/${randomBytes(16).toString('hex')}.json` }, JSON.stringify(batch.results.slice(index, index + 100)));
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}
