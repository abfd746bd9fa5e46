/**
 * How a connector's `connection` is filled in by a person: one descriptor per option, declared by each connector beside
 * its connection schema (runtime/connectors/<name>/form.ts), served by `GET /api/connectors` and rendered by the
 * trigger form. Plain data and pure functions, so the runtime, the API's schemas and the editor share this one file.
 *
 * A descriptor's `key` is a dotted path inside `connection` (`auth.credential`, `list.pagination.style`). A field whose
 * `when` does not hold is neither shown nor kept: choosing another `auth.type` drops the old type's settings, which the
 * connector's strict schema would refuse.
 */
import { z } from 'zod';
import { isRecord } from '../flow/values';

/** The kinds of stored credential (runtime/credentials/types.ts `credentialTypes`); a connector may take only some. */
export const credentialKinds = ['token', 'basic', 'oauth2'] as const;
export type CredentialKind = (typeof credentialKinds)[number];

/** The kind a stored credential's type stands for: any other label (`webhook-secret`, `postgres-url`) is a token. */
export function credentialKindOf(type: string): CredentialKind {
  return type === 'basic' || type === 'oauth2' ? type : 'token';
}

const optionSchema = z.strictObject({ value: z.string(), label: z.string() });
export type ConnectionFieldOption = z.infer<typeof optionSchema>;

const fieldBase = {
  /** Dotted path inside `connection`. */
  key: z.string().min(1),
  label: z.string().min(1),
  required: z.boolean().optional(),
  /** One line under the field: what it is for, where to find the value. */
  help: z.string().optional(),
  /** Fields sharing a group are shown together under its name. */
  group: z.string().optional(),
  /** Shown folded under "More options": settings whose default suits most people. */
  advanced: z.boolean().optional(),
  /** Shown (and kept) only while the field at `key` holds one of `is` (its default when absent). */
  when: z.strictObject({ key: z.string().min(1), is: z.array(z.string()).min(1) }).optional(),
};

/** One option of a connection, as the editor shows it. */
export const connectionFieldSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...fieldBase,
    kind: z.literal('text'),
    placeholder: z.string().optional(),
    default: z.string().optional(),
    /** Emptied, the field holds "" (a bare digest, say) instead of falling back to its default. */
    allowEmpty: z.boolean().optional(),
  }),
  z.strictObject({
    ...fieldBase,
    kind: z.literal('number'),
    default: z.number().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    step: z.number().optional(),
  }),
  z.strictObject({ ...fieldBase, kind: z.literal('boolean'), default: z.boolean().optional() }),
  /** One of fixed options. */
  z.strictObject({ ...fieldBase, kind: z.literal('select'), options: z.array(optionSchema).min(1), default: z.string().optional() }),
  /** Any number of fixed options, written as a list. */
  z.strictObject({ ...fieldBase, kind: z.literal('multiselect'), options: z.array(optionSchema).min(1) }),
  /** The name of a stored credential, from a dropdown of those of the given kinds (all kinds when absent). */
  z.strictObject({ ...fieldBase, kind: z.literal('credential'), credentialKinds: z.array(z.enum(credentialKinds)).min(1).optional() }),
  /**
   * A dropdown the runtime fills from the system itself (`POST /api/connectors/options`, the connector's
   * `connectionOptions`): GitHub repositories the token can see. Asked once the required fields of `dependsOn` are filled.
   * With `multiple`, the field holds a list (HubSpot's properties to sync): any number of the choices are ticked and
   * written as a list, and text separated by commas — how such fields were filled before they took lists — is read
   * as the same list ({@link listValue}).
   */
  z.strictObject({
    ...fieldBase,
    kind: z.literal('lookup'),
    dependsOn: z.array(z.string().min(1)),
    placeholder: z.string().optional(),
    multiple: z.boolean().optional(),
  }),
  /** An object of names to values, edited as rows. */
  z.strictObject({
    ...fieldBase,
    kind: z.literal('keyValue'),
    keyLabel: z.string(),
    valueLabel: z.string(),
    valueKind: z.enum(['text', 'number']),
    /** Suggestions for the value (the JSON types of `fields`, say); any value may still be typed. */
    valueSuggestions: z.array(z.string()).optional(),
  }),
]);
export type ConnectionField = z.infer<typeof connectionFieldSchema>;

/** A connector's connection form. */
export const connectionFormSchema = z.strictObject({
  fields: z.array(connectionFieldSchema),
  /**
   * Options of the connection schema the form leaves out on purpose, each with where a person sets it instead; the
   * form keeps whatever they hold. With `fields`, these cover the schema exactly (checked per connector).
   */
  notInForm: z.array(z.strictObject({ key: z.string().min(1), reason: z.string().min(1) })).optional(),
});
export type ConnectionForm = z.infer<typeof connectionFormSchema>;

/** One connector as `GET /api/connectors` lists it for the editor. */
export const connectorSummarySchema = z.strictObject({
  type: z.string(),
  title: z.string(),
  /** Absent for a connector that declares no form: the editor then offers the connection as JSON. */
  connectionForm: connectionFormSchema.optional(),
  /** True when the connector reads its system's own webhooks (signature, payload): `detect.idPath`/`typePath` do not apply. */
  ownWebhooks: z.boolean().optional(),
});
export type ConnectorSummary = z.infer<typeof connectorSummarySchema>;

/** One choice of a `lookup` field, as the runtime lists it. */
export const connectionOptionSchema = z.strictObject({ value: z.string(), label: z.string(), description: z.string().optional() });
export type ConnectionOption = z.infer<typeof connectionOptionSchema>;

/** A lookup field's choices; `complete` is false when the system holds more than a dropdown shows (then type the value). */
export const connectionOptionsSchema = z.strictObject({ options: z.array(connectionOptionSchema), complete: z.boolean() });
export type ConnectionOptions = z.infer<typeof connectionOptionsSchema>;

type Connection = Record<string, unknown>;

/** `list.pagination.style` → `['list', 'pagination', 'style']`; connection option names never hold a dot. */
const keyParts = (key: string): string[] => key.split('.');

/** The value at a descriptor's key, or undefined when any step of the path is missing. */
export function valueAt(connection: unknown, key: string): unknown {
  let current: unknown = connection;
  for (const part of keyParts(key)) {
    if (!isRecord(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

/**
 * A copy of `connection` with the value at `key` set, or removed when `value` is undefined. Objects left empty by a
 * removal go too, so clearing the last setting of `list.pagination` leaves no `"list": {"pagination": {}}` behind.
 */
export function withValueAt(connection: Connection, key: string, value: unknown): Connection {
  const write = (object: Connection, parts: readonly string[]): Connection => {
    const [head, ...rest] = parts as [string, ...string[]];
    const next = { ...object };
    if (rest.length === 0) {
      if (value === undefined) delete next[head];
      else next[head] = value;
      return next;
    }
    const inner = isRecord(object[head]) ? object[head] : {};
    if (value === undefined && !isRecord(object[head])) return next;
    const written = write(inner, rest);
    if (Object.keys(written).length === 0) delete next[head];
    else next[head] = written;
    return next;
  };
  return write(connection, keyParts(key));
}

/** The value a field stands at: what the connection holds, else the descriptor's default. */
function effectiveValue(form: ConnectionForm, connection: Connection, key: string): unknown {
  const value = valueAt(connection, key);
  if (value !== undefined) return value;
  const field = form.fields.find((candidate) => candidate.key === key);
  return field && 'default' in field ? field.default : undefined;
}

/** Whether a field applies to the connection as it stands (its `when`, and its controlling field's own). */
export function isFieldShown(form: ConnectionForm, connection: Connection, field: ConnectionField, depth = 0): boolean {
  if (!field.when) return true;
  const controller = form.fields.find((candidate) => candidate.key === field.when?.key);
  if (controller && depth < form.fields.length && !isFieldShown(form, connection, controller, depth + 1)) return false;
  const value = effectiveValue(form, connection, field.when.key);
  return typeof value === 'string' && field.when.is.includes(value);
}

/** The connection after one field changed: settings of fields that no longer apply are dropped. */
export function applyFieldChange(form: ConnectionForm, connection: Connection, key: string, value: unknown): Connection {
  let next = withValueAt(connection, key, value);
  for (const field of form.fields) {
    if (!isFieldShown(form, next, field) && valueAt(next, field.key) !== undefined) next = withValueAt(next, field.key, undefined);
  }
  return next;
}

/** What a newly chosen connector's connection starts as: its required text-like fields empty (lists: no items), to be filled in. */
export function initialConnection(form: ConnectionForm): Connection {
  let connection: Connection = {};
  for (const field of form.fields) {
    const textLike = field.kind === 'text' || field.kind === 'credential' || field.kind === 'lookup';
    if (field.required && textLike && isFieldShown(form, connection, field)) connection = withValueAt(connection, field.key, field.kind === 'lookup' && field.multiple ? [] : '');
  }
  return connection;
}

/**
 * The items a list-valued field holds, as text: a list's items (numbers too, such as course ids), or text split at
 * commas and semicolons, trimmed, empty parts dropped. Anything else holds no items.
 */
export function listValue(value: unknown): string[] {
  const items = typeof value === 'string' ? value.split(/[,;]/) : Array.isArray(value) ? value.filter((item) => typeof item === 'string' || typeof item === 'number').map(String) : [];
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * A list-valued field after one item is ticked (`on`) or unticked: the items held keep their order and a new one goes
 * last, so choosing one more leaves the rest of the document as it was. Undefined once no item is left, so an optional
 * field leaves the document and its default applies. Always a list, even when the field held comma-separated text.
 */
export function withListItem(value: unknown, item: string, on: boolean): string[] | undefined {
  const held = [...new Set(listValue(value))];
  const next = on ? (held.includes(item) ? held : [...held, item]) : held.filter((candidate) => candidate !== item);
  return next.length === 0 ? undefined : next;
}

/** Whether a `lookup` field can be asked for its options: every required field it depends on holds a value. */
export function lookupReady(form: ConnectionForm, connection: Connection, field: Extract<ConnectionField, { kind: 'lookup' }>): boolean {
  return field.dependsOn.every((key) => {
    const dependency = form.fields.find((candidate) => candidate.key === key);
    if (!dependency?.required) return true;
    const value = valueAt(connection, key);
    return value !== undefined && value !== '';
  });
}
