/**
 * Checks a JSON value against the OpenAPI 3.0 subset used in fixtures/openapi-schemas.json: type, nullable,
 * required, properties, items, enum, oneOf, $ref, and the two formats GitHub relies on (date-time, uri).
 * A $ref to a schema that was not copied is not checked (the fixture lists which ones those are).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Schema {
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  $ref?: string;
}

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/openapi-schemas.json', import.meta.url)), 'utf8')) as {
  schemas: Record<string, Schema & { 'x-github-breaking-changes'?: Array<{ version: string; patch: { properties?: Record<string, null>; required?: string[] } }> }>;
};

/** The schema as a given API version sees it (applies `x-github-breaking-changes` patches up to that version). */
export function schemaFor(name: string, apiVersion = '2022-11-28'): Schema {
  const schema = fixture.schemas[name];
  if (!schema) throw new Error(`schema ${name} is not in the fixture`);
  let result: Schema = schema;
  for (const change of schema['x-github-breaking-changes'] ?? []) {
    if (change.version > apiVersion) continue;
    const properties = { ...result.properties };
    for (const [key, value] of Object.entries(change.patch.properties ?? {})) if (value === null) delete properties[key];
    result = { ...result, properties, required: change.patch.required ?? result.required };
  }
  return result;
}

/** Every way `value` breaks the named schema, as `path: problem` lines; empty when it conforms. */
export function schemaErrors(value: unknown, name: string, apiVersion?: string): string[] {
  const errors: string[] = [];
  check(value, schemaFor(name, apiVersion), name, errors);
  return errors;
}

function check(value: unknown, schema: Schema, path: string, errors: string[]): void {
  if (schema.$ref) {
    const target = fixture.schemas[schema.$ref.replace('#/components/schemas/', '')];
    if (target) check(value, target, path, errors);
    return;
  }
  if (value === null) {
    if (!schema.nullable) errors.push(`${path}: null but not nullable`);
    return;
  }
  if (schema.oneOf) {
    const passing = schema.oneOf.filter((option) => {
      const inner: string[] = [];
      check(value, option, path, inner);
      return inner.length === 0;
    });
    if (passing.length !== 1) errors.push(`${path}: matches ${passing.length} of the oneOf options`);
    return;
  }
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') errors.push(`${path}: expected string, got ${typeof value}`);
      else if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value)) errors.push(`${path}: not a GitHub timestamp: ${value}`);
      else if (schema.format === 'uri' && !URL.canParse(value)) errors.push(`${path}: not a URI: ${value}`);
      break;
    case 'integer':
      if (!Number.isInteger(value)) errors.push(`${path}: expected integer, got ${JSON.stringify(value)}`);
      break;
    case 'number':
      if (typeof value !== 'number') errors.push(`${path}: expected number`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${path}: expected boolean`);
      break;
    case 'array':
      if (!Array.isArray(value)) errors.push(`${path}: expected array`);
      else if (schema.items) value.forEach((item, i) => check(item, schema.items as Schema, `${path}[${i}]`, errors));
      break;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        errors.push(`${path}: expected object`);
        break;
      }
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (!(key in record)) errors.push(`${path}.${key}: required but missing`);
      for (const [key, inner] of Object.entries(schema.properties ?? {})) if (key in record) check(record[key], inner, `${path}.${key}`, errors);
      break;
    }
    default:
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
}
