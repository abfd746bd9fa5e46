/**
 * The `github` connector: the issues of one repository (docs/connectors/github.md). The key is the issue number and
 * the version its updated_at; the fields are title, body, state, state_reason, labels, assignees and milestone. Pull
 * requests, which GitHub lists among issues, are left out.
 *
 * GitHub has no place on an issue for a hidden tag and no If-Match for updates, so the runtime recognises its own
 * writes by the journal's content hash and writes unconditionally. The REST API cannot delete an issue: a delete
 * closes it as not planned, or is refused (`connection.deletes`).
 */
import type { FlowRecord } from '../../../nodes/types';
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { ChangeFeed } from '../saas/changeFeed';
import {
  ConnectorError,
  failedWrite,
  type CollectionDescription,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorContext,
  type ConnectorType,
  type ConnectionContext,
  type ListPage,
  type ListPosition,
  type SourceRecord,
  type WriteOp,
  type WriteResult,
} from '../types';
import { IssueChanges, issuesLookbackMs } from './changes';
import { classifyFailure, GitHubClient, issuesDisabledMessage, repositoryNotFoundMessage, unauthorizedMessage, type IssueAnswer, type IssuePage, type PageRequest } from './client';
import { checkGitHubConnection, parseGitHubConnection, publicApiUrl, type GitHubConnection } from './config';
import { isPullRequest, issueFields, issueRecord, issueWrite } from './issues';
import { registerGitHubHook, unregisterGitHubHook } from './hooks';
import { githubWebhook } from './webhook';
import { githubConnectionForm } from './form';
import { githubConnectionOptions } from './repositories';

export { githubWebhook } from './webhook';
export { checkGitHubConnection, type GitHubConnection } from './config';

/** The one collection of a `github` connection. */
export const issuesCollection = 'issues';
/** Issues read at once by getMany: GitHub has no batch read of issues by number. */
const parallelReads = 4;
/**
 * GitHub's updated_at counts whole seconds: two writes to one issue within a second would share a version, and the
 * second would look like no change at all. The connector lets a second pass after it last heard back from a write to
 * an issue before it writes to that issue again (measured from the answer, so GitHub's clock has moved on too).
 */
const sameIssueSpacingMs = 1000;

async function openGitHubConnector(context: ConnectorContext): Promise<Connector> {
  throwIfConnectionProblems(checkGitHubConnection(context.config.connection));
  const connection = parseGitHubConnection(context.config.connection);
  if (context.config.collection !== issuesCollection) {
    throw new ConnectorError(`collection "${context.config.collection}": a github connection has one collection, ${issuesCollection}`);
  }
  const closing = new AbortController();
  return new GitHubIssues(connection, await clientFor(connection, context, closing.signal), closing);
}

async function clientFor(connection: GitHubConnection, context: Pick<ConnectionContext, 'resolveCredential' | 'access'>, signal: AbortSignal): Promise<GitHubClient> {
  const credential = connection.auth.credential;
  let token: string;
  try {
    token = (await context.resolveCredential(credential)).trim();
  } catch (error) {
    throw new ConnectorError(`connection.auth: cannot read credential "${credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (token === '') throw new ConnectorError(`connection.auth: credential "${credential}" is empty: store the GitHub token in it`);
  return new GitHubClient({
    baseUrl: connection.baseUrl ?? publicApiUrl,
    token,
    repo: connection.repo,
    credential,
    fetch: guardedFetch(context.access.hosts),
    maxWaitSeconds: connection.maxWaitSeconds,
    signal,
  });
}

class GitHubIssues implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private readonly changes: IssueChanges;
  private readonly feed: ChangeFeed;
  /** When this connector last heard back from a write to each issue (local ms), for {@link sameIssueSpacingMs}. */
  private readonly lastWrite = new Map<number, number>();
  /** A rate limit a write met: the batch's later writes fail at once, with the same wait, instead of asking again. */
  private limited: { resumeAt: Date; message: string } | null = null;

  constructor(
    private readonly connection: GitHubConnection,
    private readonly client: GitHubClient,
    private readonly closing: AbortController,
  ) {
    this.capabilities = {
      conditionalWrites: false,
      tags: false,
      incremental: true,
      // Issues deleted in GitHub's web interface are reported by webhooks and read as gone (410); listing every issue
      // on each pass would spend the hourly request budget of a large repository.
      fullScan: false,
      deletes: connection.deletes === 'close' ? 'close' : 'cannot',
      lookbackMs: issuesLookbackMs,
    };
    this.changes = new IssueChanges((since, page) => this.listPage(since, page));
    this.feed = new ChangeFeed(this.changes);
  }

  private async listPage(since: string | null, page: PageRequest): Promise<IssuePage> {
    this.assertOpen();
    try {
      return await this.client.listIssues(since, page);
    } catch (error) {
      throw this.client.readError(error, `listing the issues of ${this.connection.repo}`);
    }
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    assertLimit(limit);
    // What changed while the engine paged through a listing is listed at its end: ChangeFeed reads the tail again.
    return this.feed.listSince(position, limit);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    this.assertOpen();
    const found = new Map<string, SourceRecord>();
    const numbers = [...new Set(ids.map(issueNumber).filter((number): number is number => number !== null))];
    let missing = false;
    for (let start = 0; start < numbers.length; start += parallelReads) {
      const answers = await Promise.all(numbers.slice(start, start + parallelReads).map((number) => this.read(number)));
      for (const answer of answers) {
        if (answer.kind === 'missing') missing = true;
        // A pull request shares the numbering but is not an issue of this collection.
        if (answer.kind === 'issue' && !isPullRequest(answer.issue)) found.set(String(answer.issue.number), issueRecord(answer.issue));
      }
    }
    if (missing) await this.confirmRepository();
    return found;
  }

  private async read(number: number): Promise<IssueAnswer> {
    try {
      return await this.client.getIssue(number);
    } catch (error) {
      throw this.client.readError(error, `reading issue #${number} of ${this.connection.repo}`);
    }
  }

  /** A 404 for an issue means it is missing only while the repository itself answers; else the whole connection is wrong. */
  private async confirmRepository(): Promise<void> {
    try {
      await this.client.listIssues(null, { page: 1, perPage: 1 });
    } catch (error) {
      throw this.client.readError(error, `reading ${this.connection.repo}`);
    }
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    this.assertOpen();
    // One at a time: GitHub asks for writes to be made serially, and the throttling plugin spaces them.
    const results: WriteResult[] = [];
    for (const op of ops) results.push(await this.apply(op));
    return results;
  }

  private async apply(op: WriteOp): Promise<WriteResult> {
    if (this.limited && this.limited.resumeAt.getTime() > Date.now()) {
      return { ok: false, reason: 'failed', message: this.limited.message, retryable: true, retryAfterMs: this.limited.resumeAt.getTime() - Date.now() };
    }
    try {
      switch (op.kind) {
        case 'create':
          return await this.create(op.fields);
        case 'update':
          return await this.update(op.id, op.fields);
        case 'delete':
          return await this.remove(op.id);
      }
    } catch (error) {
      return this.failed(error);
    }
  }

  private async create(fields: FlowRecord): Promise<WriteResult> {
    const parsed = issueWrite(fields);
    if ('problem' in parsed) return refused(parsed.problem);
    const { state, state_reason: stateReason, ...body } = parsed.body;
    if (body.title === undefined) return refused('field "title" is required to create a GitHub issue');
    let created: Awaited<ReturnType<GitHubClient['createIssue']>>;
    try {
      created = await this.client.createIssue({ ...body, title: body.title });
    } catch (error) {
      return this.failedCreate(error);
    }
    this.lastWrite.set(created.number, Date.now());
    if (state !== 'closed') return { ok: true, id: String(created.number), version: created.updated_at };
    // "Create an issue" takes no state: a closed record is created open, then closed. Were the close to fail, the
    // issue exists all the same, so its number is reported (a retried create would make a second one), as incomplete:
    // the engine then closes it on the next pass.
    let closeFailure: string;
    try {
      const closed = await this.patch(created.number, { state, ...(stateReason ? { state_reason: stateReason } : {}) });
      if (closed.kind === 'issue') return { ok: true, id: String(created.number), version: closed.issue.updated_at };
      closeFailure = 'GitHub no longer found it';
    } catch (error) {
      // Whatever the error, the create stands: it must reach the engine, or the record would be created again.
      closeFailure = error instanceof Error ? error.message : String(error);
      if (classifyFailure(error)) {
        const result = this.failed(error);
        if ('message' in result) closeFailure = result.message;
      }
    }
    return { ok: true, id: String(created.number), version: created.updated_at, incomplete: `issue #${created.number} was created open and closing it failed (${closeFailure})` };
  }

  private async update(id: string, fields: FlowRecord): Promise<WriteResult> {
    const parsed = issueWrite(fields);
    if ('problem' in parsed) return refused(parsed.problem);
    const number = issueNumber(id);
    if (number === null) return { ok: false, reason: 'missing' };
    // state_reason: "The reason for the state change. Ignored unless `state` is changed" (Update an issue). Sent
    // alone it would be answered 200 and not kept, and the old reason would come back as GitHub's own edit.
    if (parsed.body.state_reason !== undefined && parsed.body.state === undefined) {
      return refused(`GitHub changes an issue's state_reason only together with its state ("Ignored unless \`state\` is changed", Update an issue): this write changes state_reason alone, to ${JSON.stringify(parsed.body.state_reason)}, on issue #${number}; close or reopen it with the new reason, or leave state_reason out of the mapping's direction toward GitHub`);
    }
    const answer = Object.keys(parsed.body).length === 0 ? await this.client.getIssue(number) : await this.patch(number, parsed.body);
    return this.written(answer);
  }

  private async remove(id: string): Promise<WriteResult> {
    const number = issueNumber(id);
    if (this.connection.deletes === 'refuse') {
      return refused(`GitHub issues cannot be deleted through the API, and this connection refuses deletes (connection.deletes: "refuse"): issue #${number ?? id} is left as it is`);
    }
    if (number === null) return { ok: false, reason: 'missing' };
    // An issue closed already is what a delete asks for. Closed again as not planned, it would be re-closed: a new reason,
    // a "closed this" event, notifications, a new updated_at (microsoft/vscode-github-triage-actions#102, whose
    // closeIssue checks the state first for this reason).
    const current = await this.client.getIssue(number);
    if (current.kind === 'issue' && current.issue.state === 'closed') return { ok: true, id: String(number), version: current.issue.updated_at };
    if (current.kind !== 'issue') return this.written(current);
    // "state_reason: The reason for the state change" — a deleted record is not done, it is not planned.
    return this.written(await this.patch(number, { state: 'closed', state_reason: 'not_planned' }));
  }

  private async patch(number: number, body: Parameters<GitHubClient['updateIssue']>[1]): Promise<IssueAnswer> {
    const last = this.lastWrite.get(number);
    const wait = last === undefined ? 0 : last + sameIssueSpacingMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      return await this.client.updateIssue(number, body);
    } finally {
      this.lastWrite.set(number, Date.now());
      for (const [issue, at] of this.lastWrite) if (at + sameIssueSpacingMs < Date.now()) this.lastWrite.delete(issue);
    }
  }

  private async written(answer: IssueAnswer): Promise<WriteResult> {
    if (answer.kind === 'issue') return { ok: true, id: String(answer.issue.number), version: answer.issue.updated_at };
    await this.confirmRepository();
    return { ok: false, reason: 'missing' };
  }

  /**
   * A failed create: as any failed write, but a server error or a request whose answer was lost may have made the
   * issue, so it is not tried again (as the other SaaS connectors' creates): never a second issue for one record. The
   * engine keeps such a create journaled (`mayHaveApplied`), and the next pass adopts the issue if it lists it.
   */
  private failedCreate(error: unknown): WriteResult {
    const result = this.failed(error);
    const failure = classifyFailure(error);
    const unknownOutcome = failure?.kind === 'server' || (failure?.kind === 'network' && !failure.refused);
    if (result.ok || !unknownOutcome) return result;
    return {
      ok: false,
      reason: 'failed',
      message: `${'message' in result ? result.message : 'the create failed'}; the issue may have been made all the same, so it is not created again: look for it in ${this.connection.repo}`,
      retryable: false,
      mayHaveApplied: true,
    };
  }

  /** A failed write as the engine takes it: rate limits and server errors retryable, GitHub's refusals not. */
  private failed(error: unknown): WriteResult {
    const failure = classifyFailure(error);
    const { repo, auth } = this.connection;
    if (!failure) {
      if (error instanceof ConnectorError) return failedWrite(error);
      throw error;
    }
    switch (failure.kind) {
      case 'rate-limited': {
        const message = `GitHub rate limit reached (${failure.detail}); resumes at ${failure.resumeAt.toISOString()}`;
        this.limited = { resumeAt: failure.resumeAt, message };
        return { ok: false, reason: 'failed', message, retryable: true, retryAfterMs: Math.max(0, failure.resumeAt.getTime() - Date.now()) };
      }
      case 'unauthorized':
        return refused(unauthorizedMessage(auth.credential));
      case 'not-found':
        return refused(repositoryNotFoundMessage(repo, auth.credential));
      case 'gone':
        return { ok: false, reason: 'missing' };
      case 'disabled':
        return refused(issuesDisabledMessage(repo, failure.message));
      case 'forbidden':
        return refused(`GitHub refused the write (403 ${failure.message}): the token in credential "${auth.credential}" needs Issues write access to ${repo}`);
      case 'invalid':
        return refused(`GitHub refused the issue (${failure.status} ${failure.message})`);
      case 'server':
        return { ok: false, reason: 'failed', message: `GitHub answered ${failure.status} ${failure.message}`, retryable: true, ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }) };
      case 'network':
        return { ok: false, reason: 'failed', message: failure.message, retryable: !failure.refused };
    }
  }

  /** Every issue number, read the way a listing is (no tie lost). The engine does not ask: `fullScan` is false. */
  async *scanIds(limit: number): AsyncIterable<string[]> {
    assertLimit(limit);
    const seen = new Set<string>();
    let page: string[] = [];
    // A read of its own: the listing's last read is what a resumed listing is checked against.
    for await (const records of new IssueChanges((since, page) => this.listPage(since, page)).changedSince(null)) {
      for (const record of records) {
        if (seen.has(record.id)) continue;
        seen.add(record.id);
        page.push(record.id);
        if (page.length === limit) {
          yield page;
          page = [];
        }
      }
    }
    if (page.length > 0) yield page;
  }

  async describe(): Promise<CollectionDescription[]> {
    return [{ name: issuesCollection, fields: issueFields.map((field) => ({ ...field })) }];
  }

  async close(): Promise<void> {
    if (!this.closing.signal.aborted) this.closing.abort(new ConnectorError('the connector was closed'));
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new ConnectorError('the github connector was closed');
  }
}

/** The issue number an id names, or null for an id that cannot be one. */
function issueNumber(id: string): number | null {
  return /^[1-9]\d{0,14}$/.test(id) ? Number(id) : null;
}

function refused(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number above 0, got ${limit}`);
}

/** The collections of a connection for the editor: checks the token and the repository with one small request. */
async function describeGitHubConnection(context: ConnectionContext): Promise<CollectionDescription[]> {
  throwIfConnectionProblems(checkGitHubConnection(context.connection));
  const connection = parseGitHubConnection(context.connection);
  const client = await clientFor(connection, context, new AbortController().signal);
  try {
    await client.listIssues(null, { page: 1, perPage: 1 });
  } catch (error) {
    throw client.readError(error, `reading ${connection.repo}`);
  }
  return [{ name: issuesCollection, fields: issueFields.map((field) => ({ ...field })) }];
}

/** The issues of one GitHub repository, through the REST API. */
export const githubConnector = {
  type: 'github',
  title: 'GitHub issues',
  // Registered on deploy and removed on pause or delete (hooks.ts), when the runtime has a public URL.
  webhook: { ...githubWebhook, register: registerGitHubHook, unregister: unregisterGitHubHook },
  checkConnection: checkGitHubConnection,
  open: openGitHubConnector,
  describeConnection: describeGitHubConnection,
  connectionForm: githubConnectionForm,
  connectionOptions: githubConnectionOptions,
} satisfies ConnectorType;
