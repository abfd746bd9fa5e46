/**
 * What PHP and Moodle's external API do to a request before a web-service function sees it: `$_GET`/`$_POST` built
 * from bracketed names (`users[0][username]=ada`), `max_input_vars`, `clean_param()` for the PARAM_* types the
 * fake's functions declare, and `external_api::validate_parameters()` with its exact error texts. Sources: SOURCES.md.
 */
import { InvalidParameterException } from './exceptions';

/** A PHP array as `$_POST` builds it: ordered keys, each a string or a nested array. */
export class PhpArray extends Map<string, PhpValue> {
  /** `a[]=x` appends at the next integer key, as PHP does. */
  append(value: PhpValue): void {
    let next = 0;
    for (const key of this.keys()) if (/^(0|-?[1-9]\d*)$/.test(key)) next = Math.max(next, Number(key) + 1);
    this.set(String(next), value);
  }
}
export type PhpValue = string | PhpArray;

/**
 * Variables of a query string or an `application/x-www-form-urlencoded` body, merged into `into` as PHP's
 * `php_register_variable` does: `name[a][0]=x` nests, `name[]=x` appends, a later value replaces an earlier one. Only
 * the first `maxInputVars` pairs are read: PHP drops the rest (with a warning no web-service client sees).
 */
export function parsePhpVariables(text: string, into: PhpArray, maxInputVars: number, counted: { vars: number }): void {
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (counted.vars >= maxInputVars) return;
    counted.vars++;
    const equals = pair.indexOf('=');
    const rawName = decodeFormComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decodeFormComponent(pair.slice(equals + 1));
    const bracket = rawName.indexOf('[');
    const base = bracket <= 0 ? rawName : rawName.slice(0, bracket);
    if (base === '') continue;
    const segments: string[] = [];
    if (bracket > 0) {
      const rest = rawName.slice(bracket);
      const pattern = /\[([^\]]*)\]/gy;
      let match: RegExpExecArray | null;
      while ((match = pattern.exec(rest)) !== null) segments.push(match[1] as string);
    }
    place(into, [base, ...segments], value);
  }
}

/** Stores `value` at the path of keys inside `target`; an empty key appends (`name[]`). */
function place(target: PhpArray, keys: readonly string[], value: string): void {
  const [head, ...rest] = keys as [string, ...string[]];
  if (rest.length === 0) {
    if (head === '') target.append(value);
    else target.set(head, value);
    return;
  }
  let child = head === '' ? undefined : target.get(head);
  if (!(child instanceof PhpArray)) {
    child = new PhpArray();
    if (head === '') target.append(child);
    else target.set(head, child);
  }
  place(child, rest, value);
}

function decodeFormComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Moodle's PARAM_* types the fake's functions use; the value is the constant's value, as error texts print it. */
export type ParamType =
  | 'int'
  | 'bool'
  | 'raw'
  | 'raw_trimmed'
  | 'notags'
  | 'text'
  | 'username'
  | 'auth'
  | 'plugin'
  | 'alpha'
  | 'alphanumext'
  | 'safedir'
  | 'lang'
  | 'theme'
  | 'timezone';

export interface SiteParamSettings {
  /** `$CFG->extendedusernamechars`: usernames may hold any character, not only `[-.@_a-z0-9]`. */
  extendedUsernameChars: boolean;
  languages: readonly string[];
  themes: readonly string[];
}

/**
 * `clean_param()` (lib/moodlelib.php) for one type. Close enough for the values a client sends: whole numbers, tags,
 * case and the character classes of each type are handled as Moodle handles them.
 */
export function cleanParam(value: string, type: ParamType, site: SiteParamSettings): string {
  switch (type) {
    case 'int':
      return String(phpIntval(value));
    case 'bool':
      return ['1', 'yes', 'on', 'true'].includes(value.trim().toLowerCase()) ? '1' : '0';
    case 'raw':
      return value;
    case 'raw_trimmed':
      return value.trim();
    case 'notags':
      // PARAM_NOTAGS: "all html tags are stripped".
      return value.replace(/<\/?[a-zA-Z!][^>]*>/g, '');
    case 'text':
      // PARAM_TEXT: strip_tags(), keeping multilang <span lang> and <lang> tags.
      return value.replace(/<(?!\/?(?:span|lang)\b)[^>]*>/gi, '');
    case 'username': {
      // PARAM_USERNAME: trimmed, lower-cased, and without extendedusernamechars only [-.@_a-z0-9] kept.
      let cleaned = value.trim().toLowerCase();
      if (!site.extendedUsernameChars) cleaned = cleaned.replace(/ /g, '').replace(/[^-.@_a-z0-9]/g, '');
      return cleaned;
    }
    case 'auth':
    case 'plugin':
      return /^[a-z](?:[a-z0-9_](?!__))*[a-z0-9]+$/.test(value) || /^[a-z]$/.test(value) ? value : '';
    case 'alpha':
      return value.replace(/[^a-zA-Z]/g, '');
    case 'alphanumext':
      return value.replace(/[^a-zA-Z0-9_-]/g, '');
    case 'safedir':
      return value.replace(/[^a-zA-Z0-9_-]/g, '');
    case 'lang':
      return site.languages.includes(value) ? value : '';
    case 'theme':
      return site.themes.includes(value) ? value : '';
    case 'timezone':
      return /^(99|[-+]?\d{1,2}(\.\d)?|[A-Za-z][\w/+-]*)$/.test(value.trim()) ? value.trim() : '';
  }
}

/** PHP's `(int)` on a string: leading whitespace, sign and digits; anything else stops it; nothing numeric is 0. */
export function phpIntval(value: string): number {
  const match = /^\s*([+-]?\d+)/.exec(value);
  if (!match) return 0;
  const parsed = Number(match[1]);
  return Number.isSafeInteger(parsed) ? parsed : parsed > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
}

/** VALUE_REQUIRED, VALUE_OPTIONAL or VALUE_DEFAULT of an external description. */
export type Requirement = 'required' | 'optional' | 'default';

/** `external_value`, `external_single_structure` and `external_multiple_structure`, as a function declares them. */
export type Description =
  | { kind: 'value'; type: ParamType; required: Requirement; default?: string | number | boolean | null; desc: string }
  | { kind: 'single'; keys: Record<string, Description>; required: Requirement; default?: unknown; desc: string }
  | { kind: 'multiple'; content: Description; required: Requirement; default?: unknown[]; desc: string };

export const value = (type: ParamType, desc: string, required: Requirement = 'required', fallback?: string | number | boolean | null): Description =>
  fallback === undefined ? { kind: 'value', type, required, desc } : { kind: 'value', type, required, default: fallback, desc };
export const single = (keys: Record<string, Description>, desc = '', required: Requirement = 'required', fallback?: unknown): Description =>
  fallback === undefined ? { kind: 'single', keys, required, desc } : { kind: 'single', keys, required, default: fallback, desc };
export const multiple = (content: Description, desc = '', required: Requirement = 'required', fallback?: unknown[]): Description =>
  fallback === undefined ? { kind: 'multiple', content, required, desc } : { kind: 'multiple', content, required, default: fallback, desc };

/** What validation returns: PHP values typed as Moodle types them (PARAM_INT an int, PARAM_BOOL a bool). */
export type Validated = string | number | boolean | null | Validated[] | { [key: string]: Validated };

/**
 * `external_api::validate_parameters()` (lib/external/classes/external_api.php): checks `params` against the
 * description and returns the cleaned, typed values; a problem is an invalid_parameter_exception whose debuginfo
 * names the path, each level adding `key => Invalid parameter value detected: …`.
 */
export function validateParameters(description: Description, params: PhpValue | undefined, site: SiteParamSettings, developerDebug: boolean): Validated {
  if (description.kind === 'value') {
    if (params instanceof PhpArray) throw new InvalidParameterException('Scalar type expected, array or object received.');
    const text = params ?? '';
    if (description.type === 'bool' && (text === '0' || text === '1')) return text === '1';
    const debuginfo = `Invalid external api parameter: the value is "${text}", the server was expecting "${description.type}" type`;
    const cleaned = cleanParam(text, description.type, site);
    // validate_param(): the value must survive cleaning unchanged.
    if (cleaned !== text) throw new InvalidParameterException(debuginfo);
    if (description.type === 'int') return Number(cleaned);
    if (description.type === 'bool') return cleaned === '1';
    return cleaned;
  }
  if (!(params instanceof PhpArray)) {
    throw new InvalidParameterException(`Only arrays accepted. The bad value is: '${params ?? ''}'`);
  }
  if (description.kind === 'multiple') {
    // Items are validated without their index in the path: Moodle adds a key only for single structures.
    return [...params.values()].map((item) => validateParameters(description.content, item, site, developerDebug));
  }
  const result: { [key: string]: Validated } = {};
  const remaining = new Map(params);
  for (const [key, child] of Object.entries(description.keys)) {
    if (!params.has(key)) {
      if (child.required === 'required') throw new InvalidParameterException(`Missing required key in single structure: ${key}`);
      if (child.required === 'default') result[key] = (child.default ?? null) as Validated;
    } else {
      try {
        result[key] = validateParameters(child, params.get(key), site, developerDebug);
      } catch (caught) {
        if (!(caught instanceof InvalidParameterException)) throw caught;
        throw new InvalidParameterException(`${key} => ${caught.text(developerDebug)}: ${caught.debuginfo}`);
      }
    }
    remaining.delete(key);
  }
  if (remaining.size > 0) throw new InvalidParameterException(`Unexpected keys (${[...remaining.keys()].join(', ')}) detected in parameter array.`);
  return result;
}

/**
 * `external_api::clean_returnvalue()`: only the keys the returns description declares reach the client (others are
 * dropped), values typed by their PARAM type; a missing required key is an invalid_response_exception.
 */
export function cleanReturnValue(description: Description | null, returned: unknown): unknown {
  if (description === null) return null;
  if (description.kind === 'value') {
    if (returned === null || returned === undefined) return null;
    if (description.type === 'int') return typeof returned === 'number' ? Math.trunc(returned) : phpIntval(String(returned));
    if (description.type === 'bool') return returned === true || returned === 1 || returned === '1';
    return String(returned);
  }
  if (description.kind === 'multiple') {
    if (!Array.isArray(returned)) throw new Error(`Only arrays accepted for ${description.desc}`);
    return returned.map((item) => cleanReturnValue(description.content, item));
  }
  const source = (returned ?? {}) as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(description.keys)) {
    if (!(key in source) || source[key] === undefined) {
      if (child.required === 'required') throw new Error(`Error in response - Missing following required key in a single structure: ${key}`);
      if (child.required === 'default') result[key] = child.default ?? null;
      continue;
    }
    result[key] = cleanReturnValue(child, source[key]);
  }
  return result;
}
