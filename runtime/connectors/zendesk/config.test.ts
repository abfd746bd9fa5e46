import { describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { openConnector } from '../index';
import { checkZendeskConnection, parseZendeskConnection } from './config';
import { access } from './fakeAccount';

const token = { email: 'agent@acme.example', auth: { credential: 'zendesk' } };

describe('checkZendeskConnection', () => {
  it('takes a subdomain with an API token, or a baseUrl with an OAuth token', () => {
    expect(checkZendeskConnection({ subdomain: 'acme', ...token })).toEqual([]);
    expect(checkZendeskConnection({ baseUrl: 'http://127.0.0.1:4000', auth: { credential: 'oauth', type: 'bearer' } })).toEqual([]);
    expect(parseZendeskConnection({ subdomain: 'Acme', ...token })).toMatchObject({ baseUrl: 'https://acme.zendesk.com', email: 'agent@acme.example', auth: { credential: 'zendesk', type: 'token' } });
  });

  it('names each problem by its path and says what to do', () => {
    expect(checkZendeskConnection({ auth: { credential: 'zendesk' } })).toEqual([
      { path: ['subdomain'], message: 'is required: the account\'s subdomain, "acme" for https://acme.zendesk.com (or give baseUrl)' },
      { path: ['email'], message: 'is required with an API token: the email address of the Zendesk user the token belongs to' },
    ]);
    expect(checkZendeskConnection({ subdomain: 'acme.zendesk.com', ...token })).toEqual([
      { path: ['subdomain'], message: 'must be the account\'s subdomain, letters, digits and "-": only the first part, "acme" for acme.zendesk.com' },
    ]);
    expect(checkZendeskConnection({ subdomain: 'acme', baseUrl: 'https://acme.zendesk.com', ...token })[0]).toMatchObject({ path: ['baseUrl'], message: 'give subdomain or baseUrl, not both' });
    expect(checkZendeskConnection({ baseUrl: 'https://acme.zendesk.com/?x=1', ...token })[0]?.path).toEqual(['baseUrl']);
    expect(checkZendeskConnection({ subdomain: 'acme', email: 'a@b.c', auth: { credential: '', type: 'basic' } })).toEqual([
      { path: ['auth', 'credential'], message: 'must name a stored credential' },
      { path: ['auth', 'type'], message: 'must be "token" (an API token, the default) or "bearer" (an OAuth access token)' },
    ]);
    expect(checkZendeskConnection({ subdomain: 'acme', ...token, token: 'secret' })).toEqual([
      { path: ['token'], message: 'is not a zendesk connection option; known options: subdomain, baseUrl, email, auth, customFields, userRoles' },
    ]);
  });

  it('checks custom field names and ids, and user roles', () => {
    expect(checkZendeskConnection({ subdomain: 'acme', ...token, customFields: { product: 360001, plan: '360002' } })).toEqual([]);
    expect(checkZendeskConnection({ subdomain: 'acme', ...token, customFields: { subject: 1, 'my field': 2, other: 'x', again: 1 }, userRoles: ['customer'] })).toEqual([
      { path: ['customFields', 'subject'], message: '"subject" is a ticket field of its own; choose another name for the custom field' },
      { path: ['customFields', 'my field'], message: 'the name must be a plain identifier: letters, digits and "_", not starting with a digit' },
      { path: ['customFields', 'other'], message: 'must be the id of a custom ticket field (Admin Center > Objects and rules > Tickets > Fields)' },
      { path: ['customFields', 'again'], message: 'names the same field as "subject"' },
      { path: ['userRoles'], message: 'must be a non-empty list of end-user, agent, admin' },
    ]);
  });

  it('is what opening a zendesk trigger checks first, and a collection must be tickets or users', async () => {
    const context = (connection: Record<string, unknown>, collection = 'tickets') => ({
      config: triggerConfigSchema.parse({ connector: 'zendesk', connection, collection, key: 'id' }),
      baseDir: '/',
      resolveCredential: async () => 'token',
      access,
    });
    await expect(openConnector(context({ subdomain: 'acme', auth: { credential: 'zendesk' } }))).rejects.toThrow('connection.email: is required with an API token');
    await expect(openConnector(context({ subdomain: 'acme', ...token }, 'organizations'))).rejects.toThrow('collection: a Zendesk connection has the collections tickets and users, not "organizations"');
  });
});
