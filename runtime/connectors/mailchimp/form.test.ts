import { afterEach, describe, expect, it } from 'vitest';
import { applyFieldChange, connectionFormSchema, initialConnection } from '../../../nodes/trigger/connectionForm';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { ConnectionContext } from '../types';
import { mailchimpConnectionSchema, newMemberStatuses } from './config';
import { mailchimpConnectionForm } from './form';
import { checkMailchimpConnection, mailchimpConnector } from './index';
import { access, keyCredential, startFake } from './test-support';

let fake: MailchimpFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function connectionContext(connection: Record<string, unknown>, secret: string): ConnectionContext {
  return { connection, baseDir: '/', resolveCredential: async (name) => (name === keyCredential ? secret : Promise.reject(new Error(`no credential "${name}"`))), access };
}

describe('the connection form', () => {
  it('has one descriptor per option of the connection schema, with its choices and defaults', () => {
    expect(connectionFormSchema.parse(mailchimpConnectionForm)).toEqual(mailchimpConnectionForm);
    const keys = mailchimpConnectionForm.fields.map((field) => field.key).sort();
    const options = Object.keys(mailchimpConnectionSchema.shape).flatMap((key) => (key === 'auth' ? ['auth.credential'] : [key])).sort();
    expect(keys).toEqual(options);
    const status = mailchimpConnectionForm.fields.find((field) => field.key === 'statusIfNew');
    expect(status?.kind === 'select' ? status.options.map((option) => option.value) : null).toEqual([...newMemberStatuses]);
    const defaults = mailchimpConnectionSchema.parse({ auth: { credential: 'k' }, list: 'a1' });
    for (const field of mailchimpConnectionForm.fields) if ('default' in field && field.default !== undefined) expect(defaults[field.key as keyof typeof defaults]).toEqual(field.default);
  });

  it('starts with the credential and the audience to fill in; filled, the connection checks clean', () => {
    expect(initialConnection(mailchimpConnectionForm)).toEqual({ auth: { credential: '' }, list: '' });
    let connection = applyFieldChange(mailchimpConnectionForm, initialConnection(mailchimpConnectionForm), 'auth.credential', 'mailchimp-key');
    connection = applyFieldChange(mailchimpConnectionForm, connection, 'list', 'a1b2c3d4e5');
    expect(connection).toEqual({ auth: { credential: 'mailchimp-key' }, list: 'a1b2c3d4e5' });
    expect(mailchimpConnector.checkConnection(connection)).toEqual([]);
  });

  it('says what is wrong with a connection, option by option', () => {
    expect(checkMailchimpConnection({})).toEqual([
      { path: ['auth'], message: 'is required: {"credential": "<name>"} naming the stored Mailchimp API key (or OAuth access token)' },
      { path: ['list'], message: 'is required: the id of the audience whose members sync (the editor lists them once the credential is chosen)' },
    ]);
    const problems = checkMailchimpConnection({ auth: { credential: 'k' }, list: 'a b', server: 'https://us19.api.mailchimp.com', baseUrl: 'http://x', extra: 1 });
    const byPath = new Map(problems.map((problem) => [problem.path.join('.'), problem.message]));
    expect([...byPath.keys()].sort()).toEqual(['baseUrl', 'extra', 'list', 'server']);
    expect(byPath.get('extra')).toBe('is not a mailchimp connection option; the options are auth, list, server, baseUrl, statusIfNew, maxWaitSeconds (docs/connectors/mailchimp.md)');
    expect(byPath.get('list')).toMatch(/^must be the audience id/);
    expect(byPath.get('server')).toMatch(/^must be the data center prefix of the account, e.g. "us19"/);
    expect(byPath.get('baseUrl')).toBe('give server or baseUrl, not both: baseUrl replaces https://<server>.api.mailchimp.com');
    expect(checkMailchimpConnection({ auth: { credential: 'k' }, list: 'a1', statusIfNew: 'archived' })[0]?.message).toMatch(/^must be one of subscribed, pending, unsubscribed, transactional/);
  });
});

describe('choices and fields from the account', () => {
  it('lists the audiences for the list field, and describes the members with the audience’s merge fields', async () => {
    fake = await startFake();
    fake.createList('Customers');
    fake.seedMember({ email_address: 'a@example.com' });
    const connection = { baseUrl: fake.url, auth: { credential: keyCredential } };
    const choices = await mailchimpConnector.connectionOptions(connectionContext(connection, fake.apiKey), 'list');
    expect(choices).toEqual({ complete: true, options: [{ value: fake.list.id, label: 'Newsletter', description: '1 subscribed' }, { value: expect.any(String), label: 'Customers', description: '0 subscribed' }] });
    await expect(mailchimpConnector.connectionOptions(connectionContext({ baseUrl: fake.url }, fake.apiKey), 'list')).rejects.toThrow('connection.auth.credential: choose the stored credential');
    await expect(mailchimpConnector.connectionOptions(connectionContext(connection, fake.apiKey), 'server')).rejects.toThrow('connection.server: the mailchimp connector lists no choices for it');

    fake.addMergeField({ tag: 'SCORE', type: 'number' });
    const described = await mailchimpConnector.describeConnection(connectionContext({ ...connection, list: fake.list.id }, fake.apiKey));
    expect(described).toEqual([
      {
        name: 'members',
        fields: [
          { name: 'email_address', type: 'string', nullable: false },
          { name: 'status', type: 'string', nullable: false },
          { name: 'tags', type: 'array', nullable: false },
          { name: 'merge_fields.FNAME', type: 'string', nullable: true },
          { name: 'merge_fields.LNAME', type: 'string', nullable: true },
          { name: 'merge_fields.ADDRESS', type: 'object', nullable: true },
          { name: 'merge_fields.PHONE', type: 'string', nullable: true },
          { name: 'merge_fields.BIRTHDAY', type: 'string', nullable: true },
          { name: 'merge_fields.SCORE', type: 'number', nullable: true },
        ],
      },
    ]);
    await expect(mailchimpConnector.describeConnection(connectionContext({ ...connection, list: 'nosuchlist' }, fake.apiKey))).rejects.toThrow(
      'connection.list: GET /3.0/lists/nosuchlist/merge-fields?count=1000&offset=0: 404, this Mailchimp account has no audience "nosuchlist"',
    );
  });
});
