import { Fragment, useEffect, useState } from 'react';
import { isRecord } from '../flow/values';
import type { ConfigIssues } from '../forms/configIssues';
import { CheckboxField, NumberField, Section, SelectField, TextArea, TextField, valueToText } from '../forms/kit';
import {
  applyFieldChange,
  credentialKindOf,
  isFieldShown,
  listValue,
  lookupReady,
  valueAt,
  withListItem,
  type ConnectionField,
  type ConnectionForm,
  type ConnectionOptions,
  type CredentialKind,
} from './connectionForm';

type Connection = Record<string, unknown>;
type FieldOf<Kind extends ConnectionField['kind']> = Extract<ConnectionField, { kind: Kind }>;

/** What the connection fields need besides the connection: stored credentials and the runtime's lookups. */
export interface ConnectionFieldsProps {
  connector: string;
  /** The connector's form; null for a connector that declares none, whose connection is edited as JSON. */
  form: ConnectionForm | null;
  connection: Connection;
  onChange(connection: Connection): void;
  problems: ConfigIssues;
  /** Stored credentials' names and types, or null when the runtime cannot be asked. */
  credentials: { name: string; type: string }[] | null;
  loadOptions: ((connector: string, connection: Connection, field: string) => Promise<ConnectionOptions>) | undefined;
}

const keyPath = (key: string) => key.split('.');

/**
 * The connection settings of a trigger, rendered from its connector's form: the fields that apply as the connection
 * stands, grouped, with settings whose default suits most people folded under "More connection options".
 */
export function ConnectionFields(props: ConnectionFieldsProps) {
  const { form, connection, onChange, problems } = props;
  if (!form) {
    return (
      <TextArea
        label="Connection (JSON)"
        value={JSON.stringify(connection, null, 2)}
        rows={4}
        onChange={(value) => {
          try {
            const parsed: unknown = JSON.parse(value);
            if (isRecord(parsed)) onChange(parsed);
          } catch {
            // keep the last valid connection until the JSON parses again
          }
        }}
        error={problems.within('connection')}
        hint="This connector declares no form: the options are in its documentation."
      />
    );
  }
  const shown = form.fields.filter((field) => isFieldShown(form, connection, field));
  const render = (fields: ConnectionField[]) =>
    groupsOf(fields).map(({ group, members }) => {
      const rendered = members.map((field) => <ConnectionFieldInput key={field.key} field={field} {...props} form={form} />);
      return group ? (
        <Section key={group} title={group}>
          {rendered}
        </Section>
      ) : (
        <Fragment key={members[0]?.key}>{rendered}</Fragment>
      );
    });
  const advanced = shown.filter((field) => field.advanced);
  return (
    <>
      {render(shown.filter((field) => !field.advanced))}
      {advanced.length > 0 ? (
        <details className="sl-advanced">
          <summary>More connection options</summary>
          {render(advanced)}
        </details>
      ) : null}
    </>
  );
}

/** Fields in runs of the same group, in the order the connector declares them. */
function groupsOf(fields: ConnectionField[]): { group: string | undefined; members: ConnectionField[] }[] {
  const groups: { group: string | undefined; members: ConnectionField[] }[] = [];
  for (const field of fields) {
    const existing = groups.find((entry) => entry.group === field.group && field.group !== undefined);
    if (existing) existing.members.push(field);
    else groups.push({ group: field.group, members: [field] });
  }
  return groups;
}

/** The hint under a field: its help, and the default that applies while it is empty. */
function hintOf(field: ConnectionField, defaultLabel?: string): string | undefined {
  const parts = [field.help, defaultLabel === undefined ? undefined : `Default: ${defaultLabel}.`].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

function ConnectionFieldInput(props: ConnectionFieldsProps & { form: ConnectionForm; field: ConnectionField }) {
  const { form, field, connection, onChange, problems } = props;
  const value = valueAt(connection, field.key);
  const error = problems.within('connection', ...keyPath(field.key));
  // Empty optional settings leave the document, so the connector's default applies; required ones stay "" to be filled.
  const set = (next: unknown) => onChange(applyFieldChange(form, connection, field.key, next));
  const label = field.required ? `${field.label} *` : field.label;

  switch (field.kind) {
    case 'text':
      return (
        <TextField
          label={label}
          value={valueToText(value)}
          placeholder={value === '' && field.allowEmpty ? '(empty)' : (field.placeholder ?? field.default)}
          onChange={(text) => set(text === '' && !field.required && !(field.allowEmpty && value !== undefined) ? undefined : text)}
          error={error}
          hint={hintOf(field, field.default && field.default !== field.placeholder ? field.default : undefined)}
        />
      );
    case 'number':
      return (
        <NumberField
          label={label}
          value={typeof value === 'number' ? value : undefined}
          min={field.min}
          max={field.max}
          step={field.step}
          onChange={set}
          error={error}
          hint={hintOf(field, field.default === undefined ? undefined : String(field.default))}
        />
      );
    case 'boolean': {
      const checked = typeof value === 'boolean' ? value : (field.default ?? false);
      return (
        <>
          <CheckboxField label={label} checked={checked} onChange={(next) => set(next === (field.default ?? false) ? undefined : next)} error={error} />
          {field.help ? <span className="sl-field__hint">{field.help}</span> : null}
        </>
      );
    }
    case 'select': {
      const defaultOption = field.options.find((option) => option.value === field.default);
      const empty = field.required ? [] : [{ value: '', label: defaultOption ? `Default: ${defaultOption.label}` : 'None' }];
      return (
        <SelectField
          label={label}
          value={typeof value === 'string' ? value : ''}
          options={[...empty, ...field.options]}
          onChange={(next) => set(next === '' ? undefined : next)}
          error={error}
          hint={field.help}
        />
      );
    }
    case 'multiselect':
      return <MultiSelectInput field={field} label={label} value={value} set={set} error={error} />;
    case 'credential':
      return (
        <CredentialField
          label={label}
          value={typeof value === 'string' ? value : ''}
          credentials={props.credentials}
          kinds={field.credentialKinds}
          onChange={(name) => set(name === '' && !field.required ? undefined : name)}
          error={error}
          hint={field.help}
        />
      );
    case 'lookup':
      return field.multiple ? (
        <MultiLookupInput {...props} field={field} label={label} value={value} set={set} error={error} />
      ) : (
        <LookupInput {...props} field={field} label={label} value={value} set={set} error={error} />
      );
    case 'keyValue':
      return <KeyValueInput field={field} label={label} value={value} set={set} error={error} />;
  }
}

/**
 * A stored credential, chosen from a dropdown of those of the kinds the setting takes; typed by name when the runtime
 * cannot be asked which are stored.
 */
export function CredentialField({
  label,
  value,
  credentials,
  kinds,
  onChange,
  error,
  hint,
}: {
  label: string;
  value: string;
  credentials: { name: string; type: string }[] | null;
  kinds: readonly CredentialKind[] | undefined;
  onChange(name: string): void;
  error: string | undefined;
  hint: string | undefined;
}) {
  if (credentials === null) {
    return <TextField label={label} value={value} placeholder="a stored credential's name" onChange={onChange} error={error} hint={hint ?? 'The name of a credential stored on the runtime.'} />;
  }
  const fitting = credentials.filter((entry) => kinds === undefined || kinds.includes(credentialKindOf(entry.type)));
  const none = fitting.length === 0 ? ` No stored credential of this kind (${(kinds ?? ['any']).join(' or ')}) yet: store one first.` : '';
  return (
    <SelectField
      label={label}
      value={value}
      options={[{ value: '', label: fitting.length === 0 ? '(none stored)' : '(choose a stored credential)' }, ...fitting.map((entry) => ({ value: entry.name, label: `${entry.name} (${entry.type})` }))]}
      onChange={onChange}
      error={error}
      hint={`${hint ?? 'Secrets stay on the runtime; the flow only names the credential.'}${none}`}
    />
  );
}

interface InputProps<Field> {
  field: Field;
  label: string;
  value: unknown;
  set(value: unknown): void;
  error: string | undefined;
}

function MultiSelectInput({ field, label, value, set, error }: InputProps<FieldOf<'multiselect'>>) {
  const chosen = Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  const toggle = (option: string, on: boolean) => {
    // Kept in the order the connector lists the options, so the document does not depend on the order of clicks.
    const next = field.options.map((candidate) => candidate.value).filter((candidate) => (candidate === option ? on : chosen.includes(candidate)));
    set(next.length === 0 ? undefined : next);
  };
  return (
    <div className="sl-field" role="group" aria-label={label}>
      <span className="sl-field__label">{label}</span>
      {field.options.map((option) => (
        <CheckboxField key={option.value} label={option.label} checked={chosen.includes(option.value)} onChange={(on) => toggle(option.value, on)} />
      ))}
      {field.help ? <span className="sl-field__hint">{field.help}</span> : null}
      {error ? <span className="sl-field__error">{error}</span> : null}
    </div>
  );
}

type Row = { key: string; value: string };

const rowsOf = (value: unknown): Row[] =>
  isRecord(value) ? Object.entries(value).map(([key, item]) => ({ key, value: valueToText(item) })) : [];

/** Rows of names and values, kept as drafts while a name is still empty or repeated. */
function KeyValueInput({ field, label, value, set, error }: InputProps<FieldOf<'keyValue'>>) {
  const [rows, setRows] = useState<Row[]>(() => rowsOf(value));
  const objectOf = (list: Row[]) => {
    const entries = list.filter((row) => row.key !== '').map((row) => [row.key, field.valueKind === 'number' && /^-?\d+(\.\d+)?$/.test(row.value.trim()) ? Number(row.value) : row.value]);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  };
  useEffect(() => {
    // Follow the document when it changes from elsewhere (undo, import), not while the drafts mean the same object.
    setRows((current) => (JSON.stringify(objectOf(current)) === JSON.stringify(value) ? current : rowsOf(value)));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- objectOf only reads field.valueKind, fixed per field
  }, [value]);
  const update = (next: Row[]) => {
    setRows(next);
    set(objectOf(next));
  };
  const n = (index: number) => `${index + 1} (${field.label})`;
  return (
    <div className="sl-field" role="group" aria-label={label}>
      <span className="sl-field__label">{label}</span>
      {rows.map((row, index) => (
        <div className="sl-pair__row" key={index}>
          <TextField label={`${field.keyLabel} ${n(index)}`} value={row.key} onChange={(key) => update(rows.map((r, i) => (i === index ? { ...r, key } : r)))} />
          <TextField
            label={`${field.valueLabel} ${n(index)}`}
            value={row.value}
            suggestions={field.valueSuggestions}
            onChange={(text) => update(rows.map((r, i) => (i === index ? { ...r, value: text } : r)))}
          />
          <button type="button" className="sl-remove" aria-label={`Remove row ${n(index)}`} onClick={() => update(rows.filter((_, i) => i !== index))}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="sl-small" onClick={() => setRows([...rows, { key: '', value: '' }])}>
        Add {field.keyLabel.toLowerCase()} ({field.label})
      </button>
      {field.help ? <span className="sl-field__hint">{field.help}</span> : null}
      {error ? <span className="sl-field__error">{error}</span> : null}
    </div>
  );
}

type LookupState =
  | { status: 'idle' }
  | { status: 'loading'; signature: string }
  | { status: 'ready'; signature: string; options: ConnectionOptions }
  | { status: 'failed'; signature: string; message: string };

type LookupProps = ConnectionFieldsProps & InputProps<FieldOf<'lookup'>> & { form: ConnectionForm };

/** A lookup's choices as the runtime last listed them for the settings it depends on, or why there are none. */
interface LookupChoices {
  /** The listing for the current settings; null while none is asked for or under way. */
  fresh: Exclude<LookupState, { status: 'idle' }> | null;
  ready: boolean;
  /** Why the choices are not shown yet, for the hint. */
  status: string | undefined;
  retry(): void;
}

/** Asks the runtime for a lookup's choices, again when a setting it depends on changes. */
function useLookupChoices({ connector, form, connection, field, loadOptions }: LookupProps): LookupChoices {
  const ready = loadOptions !== undefined && lookupReady(form, connection, field);
  const signature = JSON.stringify([connector, field.key, field.dependsOn.map((key) => valueAt(connection, key) ?? null)]);
  const [state, setState] = useState<LookupState>({ status: 'idle' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (!ready || !loadOptions) return;
    let current = true;
    // Wait for typing to pause before asking: a base URL is typed a character at a time.
    const timer = setTimeout(() => {
      setState({ status: 'loading', signature });
      loadOptions(connector, connection, field.key).then(
        (options) => current && setState({ status: 'ready', signature, options }),
        (failure: unknown) => current && setState({ status: 'failed', signature, message: failure instanceof Error ? failure.message : String(failure) }),
      );
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // Asked again only when what the choices depend on changes, not on every edit of the connection.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, signature, attempt]);

  const fresh = state.status !== 'idle' && state.signature === signature ? state : null;
  let status: string | undefined;
  if (!loadOptions) status = 'The runtime lists the choices when it is reachable.';
  else if (!ready) status = `Choose ${field.dependsOn.map((key) => form.fields.find((candidate) => candidate.key === key)?.label ?? key).join(' and ')} first to list the choices.`;
  else if (!fresh || fresh.status === 'loading') status = 'Listing the choices…';
  return { fresh, ready, status, retry: () => setAttempt((count) => count + 1) };
}

/**
 * A value chosen from what the runtime reads from the system (GitHub repositories the token can see), asked again when
 * a setting it depends on changes. Typed instead while the choices cannot be listed: not yet, not here, or too many.
 */
function LookupInput(props: LookupProps) {
  const { field, label, value, set, error } = props;
  const { fresh, ready, status, retry } = useLookupChoices(props);
  const text = valueToText(value);
  if (ready && fresh?.status === 'ready' && fresh.options.complete) {
    return (
      <SelectField
        label={label}
        value={text}
        options={[
          { value: '', label: fresh.options.options.length === 0 ? '(none to choose from)' : '(choose)' },
          ...fresh.options.options.map((option) => ({ value: option.value, label: option.description ? `${option.label} (${option.description})` : option.label })),
        ]}
        onChange={set}
        error={error}
        hint={field.help}
      />
    );
  }
  return (
    <>
      <TextField
        label={label}
        value={text}
        placeholder={field.placeholder}
        suggestions={fresh?.status === 'ready' ? fresh.options.options.map((option) => option.value) : undefined}
        onChange={set}
        error={fresh?.status === 'failed' ? `The choices could not be listed: ${fresh.message}` : error}
        hint={[field.help, status ?? (fresh?.status === 'ready' ? 'More than a list can show: type the name.' : undefined)].filter(Boolean).join(' ')}
      />
      <RetryLookup field={field} choices={{ fresh, retry }} />
    </>
  );
}

function RetryLookup({ field, choices }: { field: FieldOf<'lookup'>; choices: Pick<LookupChoices, 'fresh' | 'retry'> }) {
  return choices.fresh?.status === 'failed' ? (
    <button type="button" className="sl-small" onClick={choices.retry}>
      List {field.label.toLowerCase()} choices again
    </button>
  ) : null;
}

/** How many unticked choices are shown at once; a filter narrows the rest (a HubSpot account has hundreds of properties). */
const SHOWN_CHOICES = 60;

/** A choice's name in the list: its label, and its value where that is what the flow will hold. */
const choiceName = (option: { value: string; label: string }) => (option.label === option.value ? option.value : `${option.label} (${option.value})`);

/**
 * A list chosen from what the runtime reads from the system (HubSpot's properties): the items held, ticked, in the
 * order the document has them; below them the other choices, narrowed by a filter; and a field to add items by name —
 * one the runtime cannot list (not reachable, not yet created), or several at once, separated by commas.
 */
function MultiLookupInput(props: LookupProps) {
  const { field, label, value, set, error } = props;
  const choices = useLookupChoices(props);
  const [filter, setFilter] = useState('');
  const [draft, setDraft] = useState('');
  const held = [...new Set(listValue(value))];
  const listed = choices.fresh?.status === 'ready' ? choices.fresh.options.options : [];
  const byValue = new Map(listed.map((option) => [option.value, option]));
  // An emptied list leaves the document (the connector's default applies), unless the field must be filled in.
  const write = (next: string[] | undefined) => set(next ?? (field.required ? [] : undefined));
  const toggle = (item: string, on: boolean) => write(withListItem(held, item, on));
  const add = (text: string) => {
    const names = [...new Set(listValue(text))].filter((name) => !held.includes(name));
    if (names.length > 0) write([...held, ...names]);
    setDraft('');
  };
  const needle = filter.trim().toLowerCase();
  const others = listed.filter((option) => !held.includes(option.value) && (needle === '' || `${option.value} ${option.label} ${option.description ?? ''}`.toLowerCase().includes(needle)));
  const hint = [field.help, choices.status].filter(Boolean).join(' ');
  return (
    <div className="sl-field" role="group" aria-label={label}>
      <span className="sl-field__label">{label}</span>
      {held.length === 0 ? <span className="sl-field__hint">None chosen yet.</span> : null}
      {held.map((item) => {
        const option = byValue.get(item);
        return <CheckboxField key={item} label={option ? choiceName(option) : item} checked onChange={(on) => toggle(item, on)} />;
      })}
      {listed.length > 0 ? (
        <>
          <TextField label={`Find in ${field.label.toLowerCase()}`} value={filter} placeholder="name or label" onChange={setFilter} />
          <div style={{ maxHeight: '16rem', overflowY: 'auto' }}>
            {others.slice(0, SHOWN_CHOICES).map((option) => (
              <CheckboxField key={option.value} label={choiceName(option)} checked={false} onChange={(on) => toggle(option.value, on)} />
            ))}
          </div>
          {others.length > SHOWN_CHOICES ? <span className="sl-field__hint">{others.length - SHOWN_CHOICES} more: narrow them with the filter.</span> : null}
          {others.length === 0 && needle !== '' ? <span className="sl-field__hint">No other choice matches “{filter.trim()}”.</span> : null}
        </>
      ) : null}
      <TextField
        label={`Add to ${field.label.toLowerCase()} by name`}
        value={draft}
        placeholder={field.placeholder}
        suggestions={listed.filter((option) => !held.includes(option.value)).map((option) => option.value)}
        onChange={setDraft}
        onCommit={add}
        hint="Press Enter to add; several names may be separated by commas."
      />
      {hint ? <span className="sl-field__hint">{hint}</span> : null}
      {choices.fresh?.status === 'failed' ? <span className="sl-field__error">The choices could not be listed: {choices.fresh.message}</span> : null}
      {error ? <span className="sl-field__error">{error}</span> : null}
      <RetryLookup field={field} choices={choices} />
    </div>
  );
}
