/**
 * Each connector's connection form (its `form.ts`) against its connection schema: every option of the schema has a
 * descriptor (or is left out on purpose, with where it is set instead) and every descriptor names an option; kinds,
 * choices, defaults, requiredness and the variants a descriptor applies to agree. A new option without a descriptor,
 * or a renamed one, fails here rather than in front of a person.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  applyFieldChange,
  connectionFormSchema,
  credentialKindOf,
  credentialKinds,
  initialConnection,
  type ConnectionField,
  type ConnectionForm,
} from '../../nodes/trigger/connectionForm';
import { credentialKind, credentialTypes } from '../credentials/types';
import { githubConnectionSchema } from './github/config';
import { httpConnectionSchema } from './http/config';
import { connectorRegistry } from './index';
import { postgresConnectionSchema } from './postgres/connection';
import type { ConnectorType } from './types';
import { groupInto } from '../util/collections';

/** One option of a connection schema, as far as a form cares. */
interface SchemaOption {
  key: string;
  type: 'string' | 'number' | 'boolean' | 'enum' | 'record' | 'array' | 'union';
  values?: string[];
  default?: unknown;
  required: boolean;
  /** For an option inside one variant of a discriminated union: the discriminator and the variants that have it. */
  when?: { key: string; is: string[] };
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
  entries?: Record<string, string>;
  values?: unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { def: Def }).def;

/** Every leaf option of a zod connection schema, with nested objects and discriminated unions walked into. */
function schemaOptions(schema: z.ZodType, prefix = '', required = true, inherited: unknown = undefined, when?: SchemaOption['when']): SchemaOption[] {
  let current = schema;
  let own: unknown = undefined;
  let optional = false;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'optional' || def.type === 'nullable') optional = true;
    else if (def.type === 'default') {
      optional = true;
      own ??= def.defaultValue;
    } else break;
    current = def.innerType as z.ZodType;
  }
  const fallback = own ?? inherited;
  const isRequired = required && !optional;
  const def = defOf(current);
  const leaf = (type: SchemaOption['type'], extra: Partial<SchemaOption> = {}): SchemaOption[] => [
    { key: prefix, type, required: isRequired, ...(fallback === undefined ? {} : { default: fallback }), ...(when ? { when } : {}), ...extra },
  ];
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  const inside = (value: unknown, key: string) => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined);
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, child]) => schemaOptions(child, at(key), isRequired, inside(fallback, key), when));
    case 'union': {
      if (!def.discriminator) return leaf('union');
      const discriminator = def.discriminator;
      const variants = (def.options ?? []).map((option) => {
        const literal = defOf((option as unknown as { shape: Record<string, z.ZodType> }).shape[discriminator] as z.ZodType);
        return { value: String(literal.values?.[0]), option };
      });
      const options: SchemaOption[] = [{ key: at(discriminator), type: 'enum', values: variants.map((variant) => variant.value), required: isRequired, ...(inside(fallback, discriminator) === undefined ? {} : { default: inside(fallback, discriminator) }) }];
      const byKey = new Map<string, SchemaOption[]>();
      for (const { value, option } of variants) {
        const shape = (option as unknown as { shape: Record<string, z.ZodType> }).shape;
        for (const [key, child] of Object.entries(shape)) {
          if (key === discriminator) continue;
          // A setting of one variant is required as soon as that variant is chosen: the form shows it only then.
          for (const found of schemaOptions(child, at(key), true, undefined, { key: at(discriminator), is: [value] })) {
            groupInto(byKey, found.key, found);
          }
        }
      }
      for (const [key, found] of byKey) {
        const defaults = new Set(found.map((option) => JSON.stringify(option.default)));
        const first = found[0] as SchemaOption;
        options.push({
          key,
          type: first.type,
          ...(first.values ? { values: first.values } : {}),
          required: found.every((option) => option.required),
          ...(defaults.size === 1 && first.default !== undefined ? { default: first.default } : {}),
          when: { key: at(discriminator), is: found.flatMap((option) => option.when?.is ?? []) },
        });
      }
      return options;
    }
    case 'string':
      return leaf('string');
    case 'number':
      return leaf('number');
    case 'boolean':
      return leaf('boolean');
    case 'enum':
      return leaf('enum', { values: Object.values(def.entries ?? {}) });
    case 'literal':
      return leaf('enum', { values: (def.values ?? []).map(String) });
    case 'record':
      return leaf('record');
    case 'array':
      return leaf('array');
    default:
      throw new Error(`${prefix}: a ${def.type} schema; teach this walker what form field it takes`);
  }
}

/** The schema types each descriptor kind writes. */
const kindTakes: Record<ConnectionField['kind'], SchemaOption['type'][]> = {
  text: ['string', 'union'],
  number: ['number'],
  boolean: ['boolean'],
  select: ['enum'],
  multiselect: ['array'],
  credential: ['string'],
  lookup: ['string'],
  keyValue: ['record'],
};

const registry: Readonly<Record<string, ConnectorType>> = connectorRegistry;
const formOf = (name: string): ConnectionForm => {
  const form = registry[name]?.connectionForm;
  if (!form) throw new Error(`connector ${name} declares no connection form`);
  return form;
};
const formKeys = (form: ConnectionForm) => [...form.fields.map((field) => field.key), ...(form.notInForm ?? []).map((entry) => entry.key)].sort();

describe('every connection form', () => {
  it.each(['sqlite', 'postgres', 'http', 'github', 'zendesk'])('%s declares a well-formed form', (name) => {
    const form = formOf(name);
    expect(connectionFormSchema.parse(form)).toEqual(form);
    const keys = formKeys(form);
    expect(new Set(keys).size).toBe(keys.length);
    for (const field of form.fields) {
      if (field.when) {
        const controller = form.fields.find((candidate) => candidate.key === field.when?.key);
        expect(controller?.kind, `${field.key} depends on a select`).toBe('select');
        const values = controller?.kind === 'select' ? controller.options.map((option) => option.value) : [];
        expect(values).toEqual(expect.arrayContaining(field.when.is));
      }
      if (field.kind === 'select' && field.default !== undefined) expect(field.options.map((option) => option.value)).toContain(field.default);
      if (field.kind === 'lookup') {
        expect(registry[name]?.connectionOptions, `${name} lists the choices of ${field.key}`).toBeTypeOf('function');
        for (const key of field.dependsOn) expect(form.fields.map((candidate) => candidate.key)).toContain(key);
      }
    }
  });

  it('memory declares none, so its connection stays JSON', () => {
    expect(registry.memory?.connectionForm).toBeUndefined();
  });

  it("sorts stored credentials into the runtime's kinds", () => {
    expect([...credentialKinds]).toEqual([...credentialTypes]);
    for (const type of [...credentialTypes, 'webhook-secret', 'postgres-url', '']) expect(credentialKindOf(type)).toBe(credentialKind(type));
  });
});

describe.each([
  ['http', httpConnectionSchema],
  ['github', githubConnectionSchema],
  ['postgres', postgresConnectionSchema],
] as const)('the %s form and its zod schema', (name, schema) => {
  const form = formOf(name);
  const options = schemaOptions(schema);

  it('cover each other: every option has a descriptor, every descriptor an option', () => {
    expect(formKeys(form)).toEqual(options.map((option) => option.key).sort());
  });

  it.each(form.fields.map((field) => [field.key, field] as const))('%s: kind, choices, default, requiredness and variants agree', (_key, field) => {
    const option = options.find((candidate) => candidate.key === field.key) as SchemaOption;
    expect(kindTakes[field.kind]).toContain(option.type);
    if (field.kind === 'select') expect(field.options.map((choice) => choice.value).sort()).toEqual([...(option.values ?? [])].sort());
    if ('default' in field || option.default !== undefined) {
      const kindHasDefault = field.kind === 'text' || field.kind === 'number' || field.kind === 'boolean' || field.kind === 'select';
      if (kindHasDefault) expect(field.default).toEqual(option.default);
    }
    expect(field.required ?? false).toBe(option.required);
    expect(field.when ? { key: field.when.key, is: [...field.when.is].sort() } : undefined).toEqual(option.when ? { key: option.when.key, is: [...option.when.is].sort() } : undefined);
  });
});

/**
 * sqlite and zendesk check their connections by hand, naming their options when they meet an unknown one; those lists
 * are what the forms must cover. `valid` is a connection each accepts, for trying every fixed choice of a form.
 */
describe.each([
  ['sqlite', { file: 'crm.db' }, []],
  ['zendesk', { subdomain: 'acme', email: 'agent@example.com', auth: { credential: 'zendesk-token' } }, ['auth']],
] as const)('the %s form and its checks', (name, valid, nested) => {
  const form = formOf(name);
  const type = registry[name] as ConnectorType;
  const knownOptions = (connection: Record<string, unknown>, path: string[]): string[] => {
    const problem = type.checkConnection(connection).find((candidate) => candidate.path.join('.') === [...path, 'unknown_option'].join('.'));
    const list = /known options: (.+)$/.exec(problem?.message ?? '')?.[1];
    if (!list) throw new Error(`${name} did not name its options for ${path.join('.') || 'the connection'}: ${problem?.message}`);
    return list.split(', ').map((key) => [...path, key].join('.'));
  };

  it('cover each other: every option the checks know has a descriptor, every descriptor an option', () => {
    let keys = knownOptions({ ...valid, unknown_option: 1 }, []);
    for (const object of nested) {
      const inner = (valid as Record<string, unknown>)[object] as Record<string, unknown>;
      keys = [...keys.filter((key) => key !== object), ...knownOptions({ ...valid, [object]: { ...inner, unknown_option: 1 } }, [object])];
    }
    expect(formKeys(form)).toEqual(keys.sort());
  });

  it('offers only choices the checks accept', () => {
    for (const field of form.fields) {
      if (field.kind !== 'select' && field.kind !== 'multiselect') continue;
      for (const option of field.options) {
        const value = field.kind === 'select' ? option.value : [option.value];
        const connection = applyFieldChange(form, valid, field.key, value);
        expect(type.checkConnection(connection), `${field.key} = ${option.value}`).toEqual([]);
      }
    }
  });
});

describe('connections filled in through the forms', () => {
  const fill = (name: string, steps: Array<[string, unknown]>) =>
    steps.reduce((connection, [key, value]) => applyFieldChange(formOf(name), connection, key, value), initialConnection(formOf(name)));

  it('http: base URL, bearer auth and cursor pages validate; another auth type or style drops the old settings', () => {
    const http = registry.http as ConnectorType;
    expect(initialConnection(formOf('http'))).toEqual({ baseUrl: '' });
    const connection = fill('http', [
      ['baseUrl', 'https://api.example.com/v2'],
      ['auth.type', 'bearer'],
      ['auth.token.credential', 'example-token'],
      ['list.pagination.style', 'cursor'],
      ['list.pagination.cursorPath', 'meta.next_cursor'],
      ['list.path', '/crm/contacts'],
      ['item.path', '/crm/contacts/{id}'],
    ]);
    expect(connection).toEqual({
      baseUrl: 'https://api.example.com/v2',
      auth: { type: 'bearer', token: { credential: 'example-token' } },
      list: { pagination: { style: 'cursor', cursorPath: 'meta.next_cursor' }, path: '/crm/contacts' },
      item: { path: '/crm/contacts/{id}' },
    });
    expect(http.checkConnection(connection)).toEqual([]);

    const basic = applyFieldChange(formOf('http'), applyFieldChange(formOf('http'), connection, 'auth.type', 'basic'), 'list.pagination.style', undefined);
    expect(basic.auth).toEqual({ type: 'basic' });
    expect(basic.list).toEqual({ path: '/crm/contacts' });
    const filled = [
      ['auth.username', 'api'],
      ['auth.password.credential', 'api-password'],
    ].reduce((current, [key, value]) => applyFieldChange(formOf('http'), current, key as string, value), basic);
    expect(http.checkConnection(filled)).toEqual([]);
    expect(applyFieldChange(formOf('http'), filled, 'auth.type', undefined)).not.toHaveProperty('auth');
  });

  it('github: a token credential and a repository', () => {
    expect(initialConnection(formOf('github'))).toEqual({ auth: { credential: '' }, repo: '' });
    const connection = fill('github', [
      ['auth.credential', 'github-token'],
      ['repo', 'octo-org/hello-world'],
    ]);
    expect(registry.github?.checkConnection(connection)).toEqual([]);
  });

  it('zendesk: an API token needs its email; an OAuth token does not, and the email goes', () => {
    const token = fill('zendesk', [
      ['subdomain', 'acme'],
      ['auth.credential', 'zendesk-token'],
      ['email', 'agent@example.com'],
      ['customFields', { product: 360001234567 }],
    ]);
    expect(registry.zendesk?.checkConnection(token)).toEqual([]);
    const bearer = applyFieldChange(formOf('zendesk'), token, 'auth.type', 'bearer');
    expect(bearer).not.toHaveProperty('email');
    expect(registry.zendesk?.checkConnection(bearer)).toEqual([]);
  });
});
