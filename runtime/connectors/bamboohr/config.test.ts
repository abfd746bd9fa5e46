import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFieldChange, connectionFormSchema, initialConnection, lookupReady } from '../../../nodes/trigger/connectionForm';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import { connectorRegistry } from '../index';
import { checkBambooHrConnection, parseBambooHrConnection, defaultFields } from './config';
import { connectionContextFor, connectionFor, startFake } from './fakeCompany';
import { bambooHrConnector } from './index';

// The connection: its checks, its form (which must cover exactly the options the checks know), and the field list
// the form offers, read from the company.

const valid = { subdomain: 'acme', auth: { credential: 'bamboohr-key' } };

describe('checkConnection', () => {
  it('accepts a subdomain or a baseUrl, an API key credential and fields as a list or as names separated by commas', () => {
    expect(checkBambooHrConnection(valid)).toEqual([]);
    expect(checkBambooHrConnection({ baseUrl: 'http://127.0.0.1:8080', auth: { credential: 'k' }, fields: ['firstName', '4047'], maxWaitSeconds: 0 })).toEqual([]);
    expect(checkBambooHrConnection({ ...valid, fields: 'firstName, lastName,workEmail' })).toEqual([]);
    expect(parseBambooHrConnection({ ...valid, fields: 'firstName, lastName,workEmail' })).toEqual({
      baseUrl: 'https://acme.bamboohr.com',
      credential: 'bamboohr-key',
      fields: ['firstName', 'lastName', 'workEmail'],
      maxWaitMs: 60_000,
    });
    expect(parseBambooHrConnection(valid).fields).toEqual(defaultFields);
  });

  it('names each problem by its path and says what to do', () => {
    expect(checkBambooHrConnection({})).toEqual([
      { path: ['subdomain'], message: 'is required: the company\'s subdomain, "acme" for https://acme.bamboohr.com (or give baseUrl)' },
      { path: ['auth'], message: 'is required: {"credential": NAME} naming the stored credential that holds a BambooHR API key' },
    ]);
    expect(checkBambooHrConnection({ subdomain: 'acme.bamboohr.com', auth: { credential: 'k', token: 'secret' } })).toEqual([
      { path: ['subdomain'], message: 'must be the company\'s subdomain, letters, digits and "-": only the first part, "acme" for acme.bamboohr.com' },
      { path: ['auth', 'token'], message: 'is not an auth option; known options: credential' },
    ]);
    expect(checkBambooHrConnection({ ...valid, fields: ['firstName', 'first name', 'id', 'firstName', 'lastChanged'], maxWaitSeconds: -1, tables: [] })).toEqual([
      { path: ['fields', 1], message: '"first name" is not a BambooHR field name: use the API alias (firstName, workEmail) or a custom field\'s numeric id' },
      { path: ['fields', 2], message: '"id" is the employee\'s id, BambooHR\'s key for the record: it is not chosen as a field' },
      { path: ['fields', 3], message: '"firstName" is named twice' },
      { path: ['fields', 4], message: '"lastChanged" is the time BambooHR last changed the employee, the record\'s version: it is not chosen as a field' },
      { path: ['maxWaitSeconds'], message: 'must be a number of seconds from 0 to 3600' },
      { path: ['tables'], message: 'is not a bamboohr connection option; known options: subdomain, baseUrl, auth, fields, maxWaitSeconds' },
    ]);
    expect(checkBambooHrConnection({ ...valid, fields: [] })).toEqual([{ path: ['fields'], message: 'must name at least one field; leave it out for the default fields' }]);
    expect(checkBambooHrConnection({ ...valid, fields: { firstName: true } })).toMatchObject([{ path: ['fields'] }]);
  });

  it('is the registry’s bamboohr connector', () => {
    expect(connectorRegistry.bamboohr).toBe(bambooHrConnector);
  });
});

describe('the connection form', () => {
  const form = bambooHrConnector.connectionForm;

  it('is well formed and covers exactly the options the checks know, auth’s included', () => {
    expect(connectionFormSchema.parse(form)).toEqual(form);
    const known = (connection: Record<string, unknown>, path: string[]): string[] => {
      const problem = checkBambooHrConnection(connection).find((candidate) => candidate.path.join('.') === [...path, 'unknown_option'].join('.'));
      return (/known options: (.+)$/.exec(problem?.message ?? '')?.[1] ?? '').split(', ').map((key) => [...path, key].join('.'));
    };
    const keys = [...known({ ...valid, unknown_option: 1 }, []).filter((key) => key !== 'auth'), ...known({ ...valid, auth: { credential: 'k', unknown_option: 1 } }, ['auth'])];
    expect(form.fields.map((field) => field.key).sort()).toEqual(keys.sort());
  });

  it('fills in to a connection the checks accept, and asks for the field list once the company and key are known', () => {
    let connection = initialConnection(form);
    expect(connection).toEqual({ auth: { credential: '' } });
    const fields = form.fields.find((field) => field.key === 'fields');
    if (fields?.kind !== 'lookup') throw new Error('fields is a lookup');
    expect(lookupReady(form, connection, fields)).toBe(false);
    for (const [key, value] of [
      ['subdomain', 'acme'],
      ['auth.credential', 'bamboohr-key'],
      ['fields', 'firstName,lastName,workEmail,department,status'],
      ['maxWaitSeconds', 120],
    ] as const) {
      connection = applyFieldChange(form, connection, key, value);
    }
    expect(lookupReady(form, connection, fields)).toBe(true);
    expect(checkBambooHrConnection(connection)).toEqual([]);
    expect(parseBambooHrConnection(connection).fields).toEqual(['firstName', 'lastName', 'workEmail', 'department', 'status']);
  });
});

describe('the field list, from the company', () => {
  let fake: BambooHrFake;

  beforeEach(async () => {
    fake = await startFake();
    fake.addCustomField({ name: 'Shirt size', type: 'list' });
    fake.addCustomField({ name: 'LMS cohort', type: 'text', alias: 'customLmsCohort' });
  });

  afterEach(async () => {
    await fake.close();
  });

  it('offers every field of the company by API name, custom ones by alias or id, without the version, before fields are chosen', async () => {
    const options = await bambooHrConnector.connectionOptions(connectionContextFor(connectionFor(fake, { fields: 'not yet valid, x' })), 'fields');
    expect(options.complete).toBe(false);
    expect(options.options).toContainEqual({ value: 'firstName', label: 'First Name', description: 'text' });
    expect(options.options).toContainEqual({ value: '4000', label: 'Shirt size', description: 'list' });
    expect(options.options).toContainEqual({ value: 'customLmsCohort', label: 'LMS cohort', description: 'text' });
    expect(options.options.map((option) => option.value)).not.toContain('lastChanged');
    await expect(bambooHrConnector.connectionOptions(connectionContextFor(connectionFor(fake)), 'subdomain')).rejects.toThrow('connection.subdomain: the bamboohr connector lists no choices for it');
    await expect(bambooHrConnector.connectionOptions(connectionContextFor({ subdomain: 'acme' }), 'fields')).rejects.toThrow(/connection.auth: is required/);
  });

  it('describes the one collection with the chosen fields, typed; an unknown field is an error naming it', async () => {
    const described = await bambooHrConnector.describeConnection(connectionContextFor(connectionFor(fake, { fields: ['firstName', 'hireDate', 'standardHoursPerWeek', '4000', 'customLmsCohort'] })));
    expect(described).toEqual([
      {
        name: 'employees',
        fields: [
          { name: 'firstName', type: 'string', nullable: true },
          { name: 'hireDate', type: 'date', nullable: true },
          { name: 'standardHoursPerWeek', type: 'number', nullable: true },
          { name: '4000', type: 'string', nullable: true },
          { name: 'customLmsCohort', type: 'string', nullable: true },
        ],
      },
    ]);
    await expect(bambooHrConnector.describeConnection(connectionContextFor(connectionFor(fake, { fields: ['firstName', 'shoeSize'] })))).rejects.toThrow(
      'connection.fields: "shoeSize" is not a field of this BambooHR company (List Fields, GET /api/v1/meta/fields, names them; the connection form offers them)',
    );
  });
});
