/**
 * Member writes, one request each or many in one batch operation.
 *
 * - A create is "Add or update list member", `PUT /lists/{list_id}/members/{subscriber_hash}`, keyed by the hash of
 *   the address. It is an upsert, so writing it twice leaves one member: a pass that died after Mailchimp took the PUT
 *   and before the runtime recorded it, redone, cannot make a duplicate (the runtime's recovery can rely on that).
 * - An update is `PATCH` with only the fields that differ; Mailchimp merges `merge_fields` key by key, so the other
 *   merge fields keep their values (`capabilities.partialObjects`).
 * - Tags are not member fields Mailchimp writes: they are set with "Add or remove member tags",
 *   `POST …/members/{subscriber_hash}/tags` with `{name, status: active|inactive}` for each tag that changes — against
 *   the tags last read, so a tag someone added since is left alone.
 * - A delete is "Archive list member", `DELETE …/members/{subscriber_hash}`. Mailchimp refuses to archive a member
 *   that is archived already (405), so such a delete is read back: archived is what it asks for, and it succeeds.
 *   `POST …/actions/delete-permanent` is never sent: a sync does not erase people.
 *
 * Every one of these requests may be repeated to the same effect, which is why a batch whose outcome is unknown (it
 * ran past the pass's patience) can be reported as not done and written again by a later pass.
 *
 * What Mailchimp refuses for a person's sake (an address deleted for good, someone who unsubscribed themselves, a
 * member it cannot archive) fails that record, not to be retried, saying what it means and what can be done
 * (refusals.ts).
 */
import type { SourceRecord, WriteOp, WriteResult } from '../types';
import { ConnectorError, RateLimitedError, failedWrite } from '../types';
import { MailchimpCredentialsError, problemText, type HttpMethod, type MailchimpClient } from './client';
import { runBatch, type BatchOperation, type BatchTiming, type OperationAnswer } from './batches';
import type { MergeFieldCatalog } from './mergeFields';
import { isSubscriberHash, memberRecord, memberWrite, readTagNames, subscriberHash } from './members';
import { personalRefusal, unarchivableReason } from './refusals';

export interface WriteSettings {
  listId: string;
  statusIfNew: string;
  /** A write of at least this many requests goes as one batch operation. */
  batchThreshold: number;
  batchTiming: BatchTiming;
  /** Requests sent at once when writing one by one. */
  parallel: number;
}

interface Step {
  operationId: string;
  method: HttpMethod;
  path: string;
  body?: unknown;
}

/** One op, as the requests that carry it out. */
interface Plan {
  op: WriteOp;
  /** The member's subscriber hash. */
  id: string;
  /** Decided without asking Mailchimp (a refused field, an id that names no member). */
  settled: WriteResult | null;
  member: Step | null;
  tags: Step | null;
  /** Tag names turned on, for the record a create leaves. */
  activeTags: string[];
}

/** What a write leaves behind for later reads: the records Mailchimp answered creates with. */
export interface WriteOutcome {
  results: WriteResult[];
  created: SourceRecord[];
}

export class MemberWriter {
  constructor(
    private readonly client: MailchimpClient,
    private readonly catalog: MergeFieldCatalog,
    private readonly settings: WriteSettings,
    /** The member as last read, for tags to turn off and whole addresses. */
    private readonly current: (id: string) => SourceRecord | null,
  ) {}

  async write(ops: readonly WriteOp[]): Promise<WriteOutcome> {
    const plans = ops.map((op, index) => this.plan(op, index));
    const requests = plans.reduce((sum, plan) => sum + (plan.member ? 1 : 0) + (plan.tags ? 1 : 0), 0);
    const created: SourceRecord[] = [];
    const results = requests >= this.settings.batchThreshold ? await this.batched(plans, created) : await this.direct(plans, created);
    return { results, created };
  }

  private plan(op: WriteOp, index: number): Plan {
    const base = `/lists/${encodeURIComponent(this.settings.listId)}/members`;
    if (op.kind !== 'create' && !isSubscriberHash(op.id)) return { op, id: op.id, settled: { ok: false, reason: 'missing' }, member: null, tags: null, activeTags: [] };
    if (op.kind === 'delete') return { op, id: op.id, settled: null, member: { operationId: `${index}.member`, method: 'DELETE', path: `${base}/${op.id}` }, tags: null, activeTags: [] };
    const built = memberWrite(op.fields, op.kind === 'create' ? { kind: 'create', statusIfNew: this.settings.statusIfNew } : { kind: 'update', id: op.id, current: this.current(op.id) }, this.catalog);
    if ('error' in built) return { op, id: op.kind === 'create' ? '' : op.id, settled: refused(built.error), member: null, tags: null, activeTags: [] };
    const id = op.kind === 'create' ? subscriberHash(String(built.body?.email_address)) : op.id;
    const member: Step | null = built.body ? { operationId: `${index}.member`, method: op.kind === 'create' ? 'PUT' : 'PATCH', path: `${base}/${id}`, body: built.body } : null;
    const changes = built.tags;
    const tagList = changes ? [...changes.active.map((name) => ({ name, status: 'active' })), ...changes.inactive.map((name) => ({ name, status: 'inactive' }))] : [];
    const tags: Step | null = tagList.length > 0 ? { operationId: `${index}.tags`, method: 'POST', path: `${base}/${id}/tags`, body: { tags: tagList } } : null;
    // Nothing differs after all (tags equal to those held): the member is as wanted, nothing is sent.
    const settled: WriteResult | null = !member && !tags ? { ok: true, id, version: this.current(id)?.version ?? null } : null;
    return { op, id, settled, member, tags, activeTags: changes?.active ?? [] };
  }

  /** One request at a time per op, `parallel` ops at once. Tags of an update go first, so its PATCH answers the latest version. */
  private async direct(plans: Plan[], created: SourceRecord[]): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(plans.length);
    let stop: WriteResult | null = null;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < plans.length; index = next++) {
        const plan = plans[index] as Plan;
        if (plan.settled) {
          results[index] = plan.settled;
          continue;
        }
        if (stop) {
          results[index] = stop;
          continue;
        }
        try {
          const send = async (step: Step | null): Promise<OperationAnswer | null> => (step ? answerOf(await this.client.request(step.method, step.path, step.body === undefined ? {} : { body: step.body })) : null);
          let member: OperationAnswer | null = null;
          let tags: OperationAnswer | null = null;
          if (plan.op.kind === 'create') {
            member = await send(plan.member);
            if (member && member.status === 200) tags = await send(plan.tags);
          } else {
            tags = await send(plan.tags);
            if (!tags || tags.status === 204) member = await send(plan.member);
          }
          results[index] = await this.outcome(plan, member, tags, created);
        } catch (caught) {
          const failure = failureOf(caught, this.client.now());
          if (caught instanceof RateLimitedError || caught instanceof MailchimpCredentialsError) stop = failure;
          results[index] = failure;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.settings.parallel, plans.length)) }, worker));
    return results;
  }

  /**
   * Many ops as batch operations: first every member request and the tags of updates, then the tags of the members
   * just created (a tag can only be put on a member that exists; Mailchimp promises no order within a batch).
   */
  private async batched(plans: Plan[], created: SourceRecord[]): Promise<WriteResult[]> {
    const results: Array<WriteResult | undefined> = plans.map((plan) => plan.settled ?? undefined);
    const live = plans.filter((plan) => !plan.settled);
    const first: BatchOperation[] = [];
    for (const plan of live) {
      if (plan.member) first.push(operation(plan.member));
      if (plan.tags && plan.op.kind !== 'create') first.push(operation(plan.tags));
    }
    let answers: Map<string, OperationAnswer>;
    try {
      answers = await runBatch(this.client, first, this.settings.batchTiming);
    } catch (caught) {
      const failure = failureOf(caught, this.client.now());
      return plans.map((plan) => plan.settled ?? failure);
    }
    const second = live.filter((plan) => plan.op.kind === 'create' && plan.tags && answers.get(plan.member?.operationId ?? '')?.status === 200);
    if (second.length > 0) {
      try {
        for (const [id, answer] of await runBatch(this.client, second.map((plan) => operation(plan.tags as Step)), this.settings.batchTiming)) answers.set(id, answer);
      } catch (caught) {
        // The members exist; their tags are not set: each create fails retryable, and the upsert makes the retry safe.
        const failure = failureOf(caught, this.client.now());
        const message = failure.ok || failure.reason !== 'failed' ? 'the batch of tags failed' : failure.message;
        for (const plan of second) answers.set((plan.tags as Step).operationId, { status: 0, body: null, text: message });
      }
    }
    // At once: an outcome may read the member back (a repeated archive), and the client keeps the connections in bounds.
    await Promise.all(
      live.map(async (plan) => {
        const index = plans.indexOf(plan);
        const lost = (step: Step | null): OperationAnswer | null => (step ? (answers.get(step.operationId) ?? { status: 0, body: null, text: `the batch's results have no answer for operation ${step.operationId}` }) : null);
        try {
          results[index] = await this.outcome(plan, lost(plan.member), plan.op.kind === 'create' && !plan.tags ? null : lost(plan.tags), created);
        } catch (caught) {
          results[index] = failureOf(caught, this.client.now());
        }
      }),
    );
    return results as WriteResult[];
  }

  /** What Mailchimp's answers to one op's requests mean for it. */
  private async outcome(plan: Plan, member: OperationAnswer | null, tags: OperationAnswer | null, created: SourceRecord[]): Promise<WriteResult> {
    const { op } = plan;
    if (op.kind === 'delete') return this.archiveOutcome(op.id, member as OperationAnswer);
    if (op.kind === 'create') {
      const answer = member as OperationAnswer;
      if (answer.status !== 200) return answerFailure(answer, 'creating the member');
      const record = memberRecord((answer.body ?? {}) as Record<string, unknown>);
      if (!record) return refused(`the answer to creating the member is not a member: ${answer.text.slice(0, 200)}`);
      if (tags && tags.status !== 204) return answerFailure(tags, `member ${record.id} was created, but setting its tags`, { repeatable: true });
      if (plan.activeTags.length > 0) record.fields.tags = readTagNames([...readTagNames(record.fields.tags), ...plan.activeTags]);
      created.push(record);
      return { ok: true, id: record.id, version: record.version };
    }
    if (tags && tags.status === 404) return { ok: false, reason: 'missing' };
    if (tags && tags.status !== 204) return answerFailure(tags, `setting the tags of member ${op.id}`);
    if (!member) return { ok: true, id: op.id, version: null };
    if (member.status === 404) return { ok: false, reason: 'missing' };
    if (member.status !== 200) return answerFailure(member, `updating member ${op.id}`);
    const record = memberRecord((member.body ?? {}) as Record<string, unknown>);
    return { ok: true, id: op.id, version: record?.version ?? null };
  }

  /**
   * What an archive's answer means. Mailchimp archives no member that is archived already, pending or cleaned (405,
   * one detail for all three), and answers 404 for a hash that names no member: a read tells which it was.
   */
  private async archiveOutcome(id: string, answer: OperationAnswer): Promise<WriteResult> {
    if (answer.status === 204 || answer.status === 200) return { ok: true, id, version: null };
    if (answer.status !== 405 && answer.status !== 404) return answerFailure(answer, `archiving member ${id}`);
    const read = await this.client.request('GET', `/lists/${encodeURIComponent(this.settings.listId)}/members/${id}`);
    if (read.status === 404) return { ok: false, reason: 'missing' };
    const status = read.status === 200 ? (read.body as { status?: unknown } | null)?.status : undefined;
    // Archived already (by a person, or by this same delete in a batch that ran past the pass's patience): as asked.
    if (status === 'archived') return { ok: true, id, version: null };
    return answerFailure(answer, `archiving member ${id}`, { why: answer.status === 405 ? unarchivableReason(status) : null });
  }
}

function operation(step: Step): BatchOperation {
  return { method: step.method, path: step.path, operationId: step.operationId, ...(step.body === undefined ? {} : { body: step.body }) };
}

function answerOf(response: { status: number; body: unknown; text: string }): OperationAnswer {
  return { status: response.status, body: response.body, text: response.text };
}

/**
 * A failed answer: a 4xx is Mailchimp refusing what was sent (retrying cannot fix it), a 5xx or no answer is worth
 * another try. `why` says what a refusal means, before Mailchimp's own words; by default, a refusal for a person's sake.
 */
function answerFailure(answer: OperationAnswer, doing: string, options: { repeatable?: boolean; why?: string | null } = {}): WriteResult {
  if (answer.status === 0) return { ok: false, reason: 'failed', message: `${doing}: ${answer.text}`, retryable: true };
  const words = problemText(answer);
  const retryable = options.repeatable === true || answer.status >= 500 || answer.status === 429;
  const said = `Mailchimp answered ${answer.status}${words ? ` — ${words}` : ''}`;
  const why = options.why ?? personalRefusal(answer.body);
  return { ok: false, reason: 'failed', message: `${doing}: ${why ? `${why}. ${said}` : said}`, retryable };
}

function refused(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

/** A thrown error as the result of the ops it stopped; a long rate limit says when to come back. */
export function failureOf(caught: unknown, now: number): WriteResult {
  if (caught instanceof RateLimitedError) return { ok: false, reason: 'failed', message: caught.message, retryable: true, retryAfterMs: Math.max(0, caught.resumeAt.getTime() - now) };
  if (caught instanceof ConnectorError) return failedWrite(caught);
  throw caught;
}
