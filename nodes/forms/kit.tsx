import { useEffect, useId, useState, type ReactNode } from 'react';

/** The message under a field; linked to its control with aria-describedby so screen readers read it too. */
function FieldError({ id, error }: { id: string; error: string | undefined }) {
  if (!error) return null;
  return (
    <span className="sl-field__error" id={id}>
      {error}
    </span>
  );
}

interface BaseFieldProps {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
}

/**
 * A labelled single-line text input; `suggestions` offer known values (described fields) without forbidding others.
 * A `secret` is not shown, and `new-password` keeps a browser from filling it with a saved password.
 */
export function TextField({
  label,
  value,
  onChange,
  error,
  hint,
  placeholder,
  suggestions,
  onCommit,
  secret = false,
  readOnly = false,
}: BaseFieldProps & {
  value: string;
  onChange(value: string): void;
  placeholder?: string;
  suggestions?: readonly string[];
  /** Called on blur and Enter, for values applied only when complete (a node id). */
  onCommit?: (value: string) => void;
  /** A value shown but not edited here (the id of a flow the runtime stores); the hint says why. */
  readOnly?: boolean;
  /** A value not to show: a token, a password, a client secret. */
  secret?: boolean;
}) {
  const id = useId();
  return (
    <div className={`sl-field${error ? ' sl-field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={secret ? 'password' : 'text'}
        value={value}
        placeholder={placeholder}
        readOnly={readOnly}
        list={suggestions && suggestions.length > 0 ? `${id}-list` : undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(event) => onChange(event.target.value)}
        onBlur={onCommit ? (event) => onCommit(event.target.value) : undefined}
        onKeyDown={onCommit ? (event) => event.key === 'Enter' && onCommit(event.currentTarget.value) : undefined}
        spellCheck={false}
        autoComplete={secret ? 'new-password' : 'off'}
      />
      {suggestions && suggestions.length > 0 ? (
        <datalist id={`${id}-list`}>
          {suggestions.map((option) => (
            <option key={option} value={option} />
          ))}
        </datalist>
      ) : null}
      {hint ? <span className="sl-field__hint">{hint}</span> : null}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** A labelled multi-line input for expressions and JSON. */
export function TextArea({
  label,
  value,
  onChange,
  error,
  hint,
  rows = 2,
}: BaseFieldProps & { value: string; onChange(value: string): void; rows?: number }) {
  const id = useId();
  return (
    <div className={`sl-field${error ? ' sl-field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        value={value}
        rows={rows}
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(event) => onChange(event.target.value)}
      />
      {hint ? <span className="sl-field__hint">{hint}</span> : null}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/**
 * A labelled number input. It keeps what is typed while it is not a number yet ("", "-"), and reports
 * undefined for an empty box so the schema's default applies.
 */
export function NumberField({
  label,
  value,
  onChange,
  error,
  hint,
  step,
  min,
  max,
}: BaseFieldProps & { value: number | undefined; onChange(value: number | undefined): void; step?: number; min?: number; max?: number }) {
  const id = useId();
  const [draft, setDraft] = useState(value === undefined ? '' : String(value));
  useEffect(() => {
    // Follow the store when it changes from elsewhere (undo, import), not while the draft means the same number.
    setDraft((current) => (current !== '' && Number(current) === value ? current : value === undefined ? '' : String(value)));
  }, [value]);
  return (
    <div className={`sl-field${error ? ' sl-field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        value={draft}
        step={step}
        min={min}
        max={max}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(event) => {
          setDraft(event.target.value);
          const text = event.target.value.trim();
          if (text === '') onChange(undefined);
          else if (Number.isFinite(Number(text))) onChange(Number(text));
        }}
      />
      {hint ? <span className="sl-field__hint">{hint}</span> : null}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** A labelled select; a value the options do not list (an imported oddity) is shown rather than silently replaced. */
export function SelectField({
  label,
  value,
  options,
  onChange,
  error,
  hint,
}: BaseFieldProps & { value: string; options: readonly { value: string; label: string }[]; onChange(value: string): void }) {
  const id = useId();
  const known = options.some((option) => option.value === value);
  return (
    <div className={`sl-field${error ? ' sl-field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(event) => onChange(event.target.value)}
      >
        {known ? null : <option value={value}>{value === '' ? '(choose)' : `${value} (unknown)`}</option>}
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {hint ? <span className="sl-field__hint">{hint}</span> : null}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** A labelled checkbox. */
export function CheckboxField({ label, checked, onChange, error }: BaseFieldProps & { checked: boolean; onChange(checked: boolean): void }) {
  const id = useId();
  return (
    <div className={`sl-field sl-field--check${error ? ' sl-field--invalid' : ''}`}>
      <input id={id} type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} />
      <label htmlFor={id}>{label}</label>
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** A titled group of fields, with the messages that concern the group as a whole. */
export function Section({ title, error, children }: { title: string; error?: string | undefined; children: ReactNode }) {
  return (
    <fieldset className="sl-section">
      <legend>{title}</legend>
      {error ? <p className="sl-field__error">{error}</p> : null}
      {children}
    </fieldset>
  );
}

/** Renders a value of unknown type as editable text: strings as they are, anything else as JSON. */
export function valueToText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/**
 * Reads what is typed in a value box (value maps, a default value) as JSON where it is JSON: `3` is a number,
 * `true`, `false` and `null` are themselves, `"3"` in quotes is text; anything else, bare words included, is text as
 * typed. The type never depends on what the box held before, so emptying a box does not turn what follows into text.
 */
export function literalToValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Shows a value the way `literalToValue` reads it back: text in quotes only where bare it would read as something else. */
export function valueToLiteral(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return literalToValue(value) === value ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a value box holds, in words, and for anything but text how to type it as text instead. */
export function literalHint(value: unknown): string {
  const asText = `for text, put it in quotes: ${JSON.stringify(valueToLiteral(value))}.`;
  if (typeof value === 'string') return value === '' ? 'Text (empty).' : 'Text.';
  if (typeof value === 'number') return `A number; ${asText}`;
  if (typeof value === 'boolean') return `True or false; ${asText}`;
  if (value === null) return `Null, no value; ${asText}`;
  return Array.isArray(value) ? 'A list.' : 'An object.';
}

/**
 * A labelled box for a value of any type, read by `literalToValue`; the hint says which type it holds. It keeps what
 * is typed while it reads as the same value ("1.0", "3 " on the way to "3 apples") instead of rewriting it.
 */
export function ValueField({ label, value, onChange, error }: BaseFieldProps & { value: unknown; onChange(value: unknown): void }) {
  const [draft, setDraft] = useState(() => valueToLiteral(value));
  useEffect(() => {
    // Follow the store when it changes from elsewhere (undo, import), not while the draft means the same value.
    setDraft((current) => (sameValue(literalToValue(current), value) ? current : valueToLiteral(value)));
  }, [value]);
  return (
    <TextField
      label={label}
      value={draft}
      onChange={(text) => {
        setDraft(text);
        onChange(literalToValue(text));
      }}
      error={error}
      hint={literalHint(literalToValue(draft))}
    />
  );
}
