/**
 * Batch operations ("Run Async Requests with the Batch Endpoint"): many member requests in one `POST /batches`, run in
 * the background by Mailchimp, polled with `GET /batches/{batch_id}` until `status` is `finished`, then read from the
 * gzipped tar archive at `response_body_url` — JSON files, each an array of `{status_code, operation_id, response}`
 * with `response` the operation's body as a JSON string. Every result is found again by its `operation_id`.
 *
 * The archive is read with Node's zlib and tar-stream (a tar reader, not a hand-written one); its address is a
 * pre-signed storage URL that takes no Mailchimp credentials.
 */
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { ConnectorError } from '../types';
import type { HttpMethod, MailchimpClient } from './client';

export interface BatchOperation {
  method: HttpMethod;
  /** Relative to /3.0, e.g. /lists/a1b2c3d4e5/members/<hash>. */
  path: string;
  params?: Record<string, string>;
  body?: unknown;
  operationId: string;
}

/** One operation's answer, its body parsed. */
export interface OperationAnswer {
  status: number;
  body: unknown;
  text: string;
}

export interface BatchTiming {
  /** First wait before asking for the batch's status, then doubled up to {@link maxPollMs}. */
  firstPollMs: number;
  maxPollMs: number;
  /** How long a pass waits for a batch to finish before reporting its writes as not done (retryable). */
  maxWaitMs: number;
}

export const batchTimingDefaults: BatchTiming = { firstPollMs: 1000, maxPollMs: 15_000, maxWaitMs: 15 * 60_000 };

/** Submits the operations as one batch, waits for it, and answers each operation's result by its operation id. */
export async function runBatch(client: MailchimpClient, operations: readonly BatchOperation[], timing: BatchTiming): Promise<Map<string, OperationAnswer>> {
  const submitted = await client.json('POST', '/batches', {
    body: {
      operations: operations.map((operation) => ({
        method: operation.method,
        path: operation.path,
        operation_id: operation.operationId,
        ...(operation.params ? { params: operation.params } : {}),
        // "body: A string containing the JSON body to use with the request."
        ...(operation.body === undefined ? {} : { body: JSON.stringify(operation.body) }),
      })),
    },
  });
  const id = typeof submitted.id === 'string' ? submitted.id : null;
  if (id === null) throw new ConnectorError(`POST /batches: the answer names no batch id (${Object.keys(submitted).join(', ')})`);
  let status = submitted;
  let waited = 0;
  for (let pause = timing.firstPollMs; status.status !== 'finished'; pause = Math.min(pause * 2, timing.maxPollMs)) {
    if (waited >= timing.maxWaitMs) {
      // Left queued, it could still run after a later pass has written newer values, and put the old ones back.
      // "Delete batch request: Stops a batch request from running"; the operations it ran already stay done.
      const stopped = await client.request('DELETE', `/batches/${encodeURIComponent(id)}`).then(
        (response) => response.status === 204 || response.status === 404,
        () => false,
      );
      throw new ConnectorError(
        `batch ${id} (${operations.length} operations) has not finished after ${Math.round(waited / 1000)} s (status ${String(status.status)}, ${String(status.finished_operations)} done): ${stopped ? 'it was stopped, and ' : 'it could not be stopped (it may yet run), and '}its writes are reported as not done and retried by a later pass; every one of them is safe to repeat`,
        { retryable: true },
      );
    }
    await client.pause(pause, `batch ${id}`);
    waited += pause;
    status = await client.json('GET', `/batches/${encodeURIComponent(id)}`);
  }
  const address = status.response_body_url;
  if (typeof address !== 'string' || address === '') throw new ConnectorError(`batch ${id} finished without a response_body_url`, { retryable: true });
  return readResults(await client.download(address), id);
}

/** The results archive: a gzipped tar of JSON files of results. */
export async function readResults(archive: Uint8Array, batchId: string): Promise<Map<string, OperationAnswer>> {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (error) {
    throw new ConnectorError(`batch ${batchId}: the results archive is not gzip: ${error instanceof Error ? error.message : String(error)}`, { retryable: true, cause: error });
  }
  const answers = new Map<string, OperationAnswer>();
  const reader = extract();
  Readable.from([tar]).pipe(reader);
  try {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type !== 'file' || !entry.header.name.endsWith('.json')) continue;
      let results: unknown;
      try {
        results = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        throw new ConnectorError(`batch ${batchId}: ${entry.header.name} in the results archive is not JSON`, { retryable: true });
      }
      if (!Array.isArray(results)) throw new ConnectorError(`batch ${batchId}: ${entry.header.name} in the results archive is not a list of results`, { retryable: true });
      for (const result of results as Array<Record<string, unknown>>) {
        if (typeof result?.operation_id !== 'string' || typeof result.status_code !== 'number') continue;
        const text = typeof result.response === 'string' ? result.response : '';
        let body: unknown = null;
        try {
          body = text.trim() === '' ? null : JSON.parse(text);
        } catch {
          body = null;
        }
        answers.set(result.operation_id, { status: result.status_code, body, text });
      }
    }
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    throw new ConnectorError(`batch ${batchId}: the results archive is not a readable tar: ${error instanceof Error ? error.message : String(error)}`, { retryable: true, cause: error });
  }
  return answers;
}
