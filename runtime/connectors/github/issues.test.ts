import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Octokit } from '@octokit/rest';
import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../saas/changeFeed';
import { IssueChanges } from './changes';
import { classifyFailure } from './client';
import { issueRecord, issueWrite, type IssueJson } from './issues';

// Read shapes against recorded real traffic: the answers @octokit/fixtures recorded from api.github.com, and the issue
// objects in the webhook payloads of @octokit/webhooks-examples, go through the same functions as the fake's answers.

const require = createRequire(import.meta.url);

interface RecordedExchange {
  method: string;
  path: string;
  status: number;
  response: unknown;
  headers: Record<string, string>;
}

function recorded(scenario: string): RecordedExchange[] {
  const path = require.resolve(`@octokit/fixtures/scenarios/api.github.com/${scenario}/normalized-fixture.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as RecordedExchange[];
}

const webhookExamples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;
const issuesExamples = webhookExamples.find((definition) => definition.name === 'issues')?.examples ?? [];

describe('records from recorded answers of the REST API', () => {
  const pages = recorded('paginate-issues');

  it('turns each listed issue into a record: the number as id, updated_at as version, the fields that sync', () => {
    const items = pages.flatMap((exchange) => exchange.response as IssueJson[]);
    expect(items).toHaveLength(13);
    const records = items.map(issueRecord);
    expect(records.map((record) => record.id)).toEqual(['13', '12', '11', '10', '9', '8', '7', '6', '5', '4', '3', '2', '1']);
    expect(records[0]).toEqual({
      id: '13',
      version: '2017-10-10T16:00:00Z',
      tag: null,
      deleted: false,
      fields: { title: 'Test issue 13', body: null, state: 'open', state_reason: null, labels: [], assignees: [], milestone: null },
    });
    for (const [index, record] of records.entries()) {
      const item = items[index] as IssueJson & Record<string, unknown>;
      expect(record.version).toBe(item.updated_at);
      expect(record.fields.title).toBe(item.title);
      // The rest of the answer (urls, user, reactions, timestamps) is not data of the record.
      expect(Object.keys(record.fields).sort()).toEqual(['assignees', 'body', 'labels', 'milestone', 'state', 'state_reason', 'title']);
    }
  });

  it('reads the recorded pages, thirteen issues updated in one second across five pages, into thirteen records in order', async () => {
    // The recording is one listing of 3 a page; its Link headers say which pages follow, by number (no cursor).
    const changes = new IssueChanges(async (_since, { page }) => {
      const exchange = pages[page - 1];
      if (!exchange) throw new Error(`no recorded page ${page}`);
      return { items: exchange.response as IssueJson[], hasNext: /rel="next"/.test(exchange.headers.link ?? ''), after: null };
    });
    const listed = await new ChangeFeed(changes).listSince({ since: null, afterId: null }, 100);
    expect(listed.records.map((record) => record.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13']);
    expect(new Set(listed.records.map((record) => record.version))).toEqual(new Set(['2017-10-10T16:00:00Z']));
    expect(listed.next).toBeNull();
  });

  it('reads a created issue (201) and label objects as GitHub answers them, label names in code-unit order', () => {
    const [created, labelled] = recorded('add-labels-to-issue');
    const issue = created?.response as IssueJson;
    expect(issueRecord(issue)).toEqual({
      id: '1',
      version: '2017-10-10T16:00:00Z',
      tag: null,
      deleted: false,
      fields: { title: 'Issue without a label', body: null, state: 'open', state_reason: null, labels: [], assignees: [], milestone: null },
    });
    const withLabels = { ...issue, labels: labelled?.response as IssueJson['labels'] };
    expect(issueRecord(withLabels).fields.labels).toEqual(['Foo', 'bAr', 'baZ']);
  });

  it('classifies a recorded 422 the way GitHub words it, through Octokit itself', async () => {
    const [exchange] = recorded('errors');
    if (!exchange) throw new Error('no recorded exchange');
    // Octokit's own request pipeline, answered with the recorded response instead of the network.
    const replay: typeof fetch = async () =>
      new Response(JSON.stringify(exchange.response), { status: exchange.status, headers: { ...exchange.headers, 'content-type': 'application/json; charset=utf-8' } });
    const octokit = new Octokit({ request: { fetch: replay }, log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } });
    const error = await octokit.request('POST /repos/{owner}/{repo}/labels', { owner: 'octokit-fixture-org', repo: 'errors', name: 'foo', color: 'invalid' }).catch((caught: unknown) => caught);
    expect(classifyFailure(error)).toEqual({ kind: 'invalid', status: 422, message: 'Validation Failed: color invalid' });
  });
});

describe('records from the issues in recorded webhook payloads', () => {
  it('reads labels, assignees and milestone from real issue objects', () => {
    const opened = issuesExamples.find((example) => example.action === 'opened')?.issue as IssueJson;
    expect(issueRecord(opened)).toMatchObject({
      id: '1',
      version: '2019-05-15T15:20:18Z',
      fields: { title: 'Spelling error in the README file', state: 'open', state_reason: null, labels: ['bug'], assignees: ['Codertocat'], milestone: 1 },
    });
    const unlabeled = issuesExamples.find((example) => example.action === 'unlabeled')?.issue as IssueJson;
    expect(issueRecord(unlabeled).fields).toMatchObject({ milestone: null, labels: ['bug'] });
  });
});

describe('what a write sends', () => {
  it('sends the given fields only, with sets of names and the milestone by number', () => {
    expect(issueWrite({ title: 'T', labels: ['b', 'a', 'b'], assignees: null, milestone: '3' })).toEqual({ body: { title: 'T', labels: ['b', 'a'], assignees: [], milestone: 3 } });
    expect(issueWrite({ body: null, state: 'closed', state_reason: 'not_planned' })).toEqual({ body: { body: null, state: 'closed', state_reason: 'not_planned' } });
    expect(issueWrite({ milestone: null, title: 42 })).toEqual({ body: { milestone: null, title: '42' } });
    expect(issueWrite({})).toEqual({ body: {} });
  });

  it('names the field and what it must be', () => {
    expect(issueWrite({ number: 7 })).toEqual({ problem: 'field "number" is the issue number (the key): bookkeeping, not data, so it cannot be written' });
    expect(issueWrite({ title: '  ' })).toEqual({ problem: 'field "title": an issue needs a title: non-empty text' });
    expect(issueWrite({ state_reason: 'wontfix' })).toEqual({ problem: 'field "state_reason": must be one of completed, not_planned, duplicate, reopened or null, not "wontfix"' });
    expect(issueWrite({ assignees: ['ok', 3] })).toEqual({ problem: 'field "assignees": must be a list of user logins (or null for none)' });
    expect(issueWrite({ milestone: 1.5 })).toEqual({ problem: 'field "milestone": must be a milestone number (or null for none)' });
  });
});
