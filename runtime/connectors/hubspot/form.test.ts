import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFieldChange, connectionFormSchema, initialConnection, listValue, lookupReady, valueAt, withListItem } from '../../../nodes/trigger/connectionForm';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import { connectorRegistry } from '../index';
import type { ConnectionContext, ConnectorType } from '../types';
import { hubspotConnectionSchema } from './config';
import { access, connectionFor, contextFor, startFake, tokenCredential } from './fakeAccount';
import { hubspotConnectionForm as form } from './form';
import { openHubSpot } from './index';

// The connection as a person fills it in: the form against the schema, the properties listed from HubSpot's
// properties API, and what describing a connection gives the editor.

const hubspot = (connectorRegistry as Record<string, ConnectorType>).hubspot as ConnectorType;
let fake: HubSpotFake;

const connectionContext = (connection: Record<string, unknown>): ConnectionContext => ({
  connection,
  baseDir: '/',
  resolveCredential: async (name) => (name === tokenCredential ? fake.tokens.privateApp : Promise.reject(new Error(`no credential "${name}"`))),
  access,
});

beforeEach(async () => {
  fake = await startFake();
});
afterEach(async () => {
  await fake.close();
});

describe('the form', () => {
  it('is registered, well formed, and covers the schema option for option', () => {
    expect(hubspot.connectionForm).toBe(form);
    expect(connectionFormSchema.parse(form)).toEqual(form);
    const schemaKeys = Object.entries(hubspotConnectionSchema.shape).flatMap(([key, option]) =>
      key === 'auth' ? Object.keys((option as unknown as { shape: Record<string, unknown> }).shape).map((inner) => `auth.${inner}`) : [key],
    );
    expect(form.fields.map((field) => field.key).sort()).toEqual(schemaKeys.sort());
    const wait = form.fields.find((field) => field.key === 'maxWaitSeconds');
    expect(wait && 'default' in wait ? wait.default : undefined).toBe(hubspotConnectionSchema.shape.maxWaitSeconds.parse(undefined));
  });

  it('fills in a connection the checks accept, the properties typed as a list', () => {
    let connection = initialConnection(form);
    expect(connection).toEqual({ auth: { credential: '' } });
    const properties = form.fields.find((field) => field.key === 'properties');
    if (properties?.kind !== 'lookup') throw new Error('properties is a lookup');
    expect(lookupReady(form, connection, properties)).toBe(false);
    connection = applyFieldChange(form, connection, 'auth.credential', 'hubspot-token');
    expect(lookupReady(form, connection, properties)).toBe(true);
    connection = applyFieldChange(form, connection, 'properties', 'email, firstname, lifecyclestage');
    expect(hubspot.checkConnection(connection)).toEqual([]);
  });

  it('holds the properties as a list, ticked one by one; a flow that names them as text keeps them, as a list from the next tick', () => {
    const properties = form.fields.find((field) => field.key === 'properties');
    expect(properties).toMatchObject({ kind: 'lookup', multiple: true });
    let connection = applyFieldChange(form, initialConnection(form), 'auth.credential', 'hubspot-token');
    for (const name of ['email', 'firstname', 'mailchimp_status']) connection = applyFieldChange(form, connection, 'properties', withListItem(valueAt(connection, 'properties'), name, true));
    expect(connection).toEqual({ auth: { credential: 'hubspot-token' }, properties: ['email', 'firstname', 'mailchimp_status'] });
    expect(hubspot.checkConnection(connection)).toEqual([]);

    const written = { auth: { credential: 'hubspot-token' }, properties: 'email, firstname' };
    expect(hubspot.checkConnection(written)).toEqual([]);
    expect(listValue(written.properties)).toEqual(['email', 'firstname']);
    const ticked = applyFieldChange(form, written, 'properties', withListItem(written.properties, 'lifecyclestage', true));
    expect(ticked.properties).toEqual(['email', 'firstname', 'lifecyclestage']);
    expect(hubspot.checkConnection(ticked)).toEqual([]);
    // Every property unticked: the option leaves the connection and the collection's defaults apply.
    expect(applyFieldChange(form, { auth: { credential: 'hubspot-token' }, properties: ['email'] }, 'properties', withListItem(['email'], 'email', false))).toEqual({ auth: { credential: 'hubspot-token' } });
  });

  it('names each problem by its path', () => {
    expect(hubspot.checkConnection({})).toEqual([{ path: ['auth'], message: expect.stringContaining('is required') }]);
    expect(hubspot.checkConnection({ auth: { credential: 'x' }, properties: ['email', '2fast'] })).toEqual([{ path: ['properties', 1], message: expect.stringContaining('internal name') }]);
    expect(hubspot.checkConnection({ auth: { credential: 'x' }, portal: 1 })).toEqual([{ path: [], message: expect.stringContaining('the hubspot options are auth, properties, baseUrl, maxWaitSeconds') }]);
  });
});

describe('properties from HubSpot', () => {
  it("lists every property of contacts and companies as the form's choices, custom ones included", async () => {
    fake.defineProperty('contacts', { name: 'favourite_colour', label: 'Favourite colour', type: 'string' });
    const choices = await hubspot.connectionOptions?.(connectionContext(connectionFor(fake)), 'properties');
    expect(choices?.complete).toBe(false);
    const byValue = new Map(choices?.options.map((option) => [option.value, option]));
    expect(byValue.get('favourite_colour')).toEqual({ value: 'favourite_colour', label: 'Favourite colour', description: 'contacts · string' });
    expect(byValue.get('phone')?.description).toBe('contacts, companies · string');
    expect(byValue.get('hubspotscore')?.description).toBe('contacts · number · read-only');
    // The record's id and version are not properties a flow syncs.
    expect(byValue.has('hs_object_id')).toBe(false);
    expect(byValue.has('lastmodifieddate')).toBe(false);
    expect(fake.requests.map((entry) => entry.path)).toEqual(['/crm/v3/properties/contacts?archived=false', '/crm/v3/properties/companies?archived=false']);
  });

  it('asks for the credential first', async () => {
    await expect(hubspot.connectionOptions?.(connectionContext({ baseUrl: fake.url }), 'properties')).rejects.toThrow(/connection\.auth\.credential: choose the stored credential/);
  });

  it('describes both collections with the properties a flow can address, properties.<name>', async () => {
    fake.defineProperty('contacts', { name: 'score', type: 'number' });
    const described = await hubspot.describeConnection?.(connectionContext(connectionFor(fake, { properties: ['email', 'score', 'hs_email_optout', 'name'] })));
    expect(described).toEqual([
      {
        name: 'contacts',
        fields: [
          { name: 'properties.email', type: 'string', nullable: true },
          { name: 'properties.score', type: 'number', nullable: true },
          { name: 'properties.hs_email_optout', type: 'boolean', nullable: true },
        ],
      },
      { name: 'companies', fields: [{ name: 'properties.name', type: 'string', nullable: true }] },
    ]);
  });

  it('refuses a property the account does not have, naming it and where it is', async () => {
    const connector = await openHubSpot(contextFor(fake, 'contacts', { properties: ['email', 'fristname', 'hs_object_id'] }));
    try {
      await expect(connector.describe()).rejects.toThrow(
        'connection.properties[1]: HubSpot contacts have no property "fristname" (Settings › Properties lists each property\'s internal name); connection.properties[2]: "hs_object_id" is the record\'s id, kept apart from its fields; leave it out',
      );
    } finally {
      await connector.close();
    }
  });
});
