import { useEffect, useMemo, useRef, useState } from 'react';
import { asRecord, isRecord, useConfigIssues, withKey, type ConfigIssues } from '../forms/configIssues';
import { freeRowName, repeatedNameMessage, repeatsName, useKeyedRows } from '../forms/keyedRows';
import { NumberField, Section, SelectField, TextArea, TextField, ValueField } from '../forms/kit';
import type { NodeFormProps, RealSample } from '../forms/types';
import { defaultExpressionLimits, type FlowRecord, type RoundTripIssue } from '../types';
import { transformBehaviour } from './behaviour';
import { previewExpressionOp, type ExpressionPreview } from './preview';
import { transformConfigSchema, transformOpSchema, type TransformConfig } from './schema';

type Op = Record<string, unknown>;

const opKinds = transformOpSchema.options.map((option) => option.shape.op.value);
const opLabels: Record<string, string> = {
  rename: 'Rename a field',
  valueMap: 'Map values',
  split: 'Split a field',
  join: 'Join fields',
  lowercase: 'Lower-case',
  uppercase: 'Upper-case',
  scale: 'Scale a number',
  dateFormat: 'Format a date',
  default: 'Default value',
  expression: 'JSONata expression',
};

/** What a newly added op starts with; empty names are flagged by the schema until they are filled in. */
function newOp(kind: string): Op {
  switch (kind) {
    case 'rename':
      return { op: kind, from: '', to: '' };
    case 'valueMap':
      return { op: kind, field: '', values: [] };
    case 'split':
      return { op: kind, field: '', separator: ' ', into: ['', ''] };
    case 'join':
      return { op: kind, fields: ['', ''], separator: ' ', target: '' };
    case 'scale':
      return { op: kind, field: '', factor: 1 };
    case 'dateFormat':
      return { op: kind, field: '', from: 'iso', to: 'epoch-ms' };
    case 'default':
      return { op: kind, field: '', value: '' };
    case 'expression':
      return { op: kind, target: '', forward: '' };
    default:
      return { op: kind, field: '' };
  }
}

// Samples are per node and only for previews: they live here, not in the flow, and survive switching panels, with
// where each came from when it is a real record.
const samples = new Map<string, string>();
const sampleSources = new Map<string, string>();

/** A sample record built from the field names the ops read, one word per value so splits on spaces round-trip. */
function defaultSample(ops: Op[]): string {
  const sample: Record<string, unknown> = {};
  for (const op of ops) {
    if (op.op === 'expression' && isRecord(op.backward)) for (const field of Object.keys(op.backward)) sample[field] = `${field}-value`;
    for (const key of ['from', 'field']) if (typeof op[key] === 'string' && op[key] !== '' && op.op !== 'scale') sample[op[key] as string] = `${op[key]}-value`;
    if (op.op === 'scale' && typeof op.field === 'string' && op.field !== '') sample[op.field] = 100;
    if (Array.isArray(op.fields)) for (const field of op.fields) if (typeof field === 'string' && field !== '') sample[field] = `${field}-value`;
  }
  return JSON.stringify(sample, null, 2);
}

function parseSample(text: string): { record: FlowRecord | null; error: string | undefined } {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? { record: parsed, error: undefined } : { record: null, error: 'must be a JSON object, e.g. {"first_name": "Ada"}' };
  } catch (error) {
    return { record: null, error: `not JSON: ${(error as Error).message}` };
  }
}

const show = (value: unknown) => (value === undefined ? '(nothing)' : JSON.stringify(value));

/** Runs an expression op on the sample as the person types: forward, then backward on forward's result. */
function useExpressionPreview(op: Op, sample: FlowRecord | null): ExpressionPreview | null {
  const [preview, setPreview] = useState<ExpressionPreview | null>(null);
  const forward = typeof op.forward === 'string' ? op.forward : '';
  const target = typeof op.target === 'string' ? op.target : '';
  const backwardKey = JSON.stringify(op.backward ?? null);
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const next = !sample || forward === '' ? null : await previewExpressionOp({ forward, target, backward: JSON.parse(backwardKey) }, sample);
      if (!cancelled) setPreview(next);
    })();
    return () => {
      cancelled = true;
    };
  }, [forward, target, backwardKey, sample]);
  return preview;
}

/** The round-trip check of the transform behaviour over the whole node, on the sample. */
function useRoundTrip(nodeId: string, config: unknown, sample: FlowRecord | null): RoundTripIssue[] | null {
  const [issues, setIssues] = useState<RoundTripIssue[] | null>(null);
  useEffect(() => {
    let cancelled = false;
    const parsed = transformConfigSchema.safeParse(config);
    const check = transformBehaviour.roundTrip;
    if (!sample || !parsed.success || !check) {
      setIssues(null);
      return;
    }
    check([sample], parsed.data as TransformConfig, { nodeId, limits: defaultExpressionLimits })
      .then((found) => !cancelled && setIssues(found))
      .catch(() => !cancelled && setIssues(null));
    return () => {
      cancelled = true;
    };
  }, [nodeId, config, sample]);
  return issues;
}

/** The transform form: a list of ops, and for expressions a JSONata box per direction previewed on a sample record. */
export default function TransformForm({ nodeId, config, onChange, issues, env }: NodeFormProps) {
  const c = asRecord(config);
  const problems = useConfigIssues(transformConfigSchema, config, issues);
  const ops: Op[] = Array.isArray(c.ops) ? c.ops.map(asRecord) : [];
  const [addKind, setAddKind] = useState('rename');
  const [sampleText, setSampleTextState] = useState(() => samples.get(nodeId) ?? defaultSample(ops));
  const [source, setSource] = useState<string | null>(() => sampleSources.get(nodeId) ?? null);
  const setSampleText = (text: string, from: string | null = null) => {
    samples.set(nodeId, text);
    if (from === null) sampleSources.delete(nodeId);
    else sampleSources.set(nodeId, from);
    setSampleTextState(text);
    setSource(from);
  };
  const real = useRealSample(nodeId, env.realSample, (record, from) => setSampleText(JSON.stringify(record, null, 2), from));
  // Parsed once per text change, so previews do not re-run on every render.
  const { record: sample, error: sampleError } = useMemo(() => parseSample(sampleText), [sampleText]);
  const roundTrip = useRoundTrip(nodeId, config, sample);

  const setOps = (next: Op[]) => onChange({ ...c, ops: next });
  const updateOp = (index: number, next: Op) => setOps(ops.map((op, i) => (i === index ? next : op)));
  const move = (index: number, by: number) => {
    const next = [...ops];
    const [op] = next.splice(index, 1);
    if (op) next.splice(index + by, 0, op);
    setOps(next);
  };

  return (
    <div className="sl-form">
      <Section title="Ops, applied in order going forward" error={problems.at('ops')}>
        {ops.length === 0 ? <p className="sl-muted">No ops: records pass unchanged.</p> : null}
        {ops.map((op, index) => (
          <div className="sl-op" role="group" aria-label={`Op ${index + 1}: ${opLabels[String(op.op)] ?? String(op.op)}`} key={index}>
            <div className="sl-op__head">
              <strong>
                {index + 1}. {opLabels[String(op.op)] ?? String(op.op)}
              </strong>
              <span>
                <button type="button" aria-label={`Move op ${index + 1} up`} disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" aria-label={`Move op ${index + 1} down`} disabled={index === ops.length - 1} onClick={() => move(index, 1)}>
                  ↓
                </button>
                <button type="button" className="sl-remove" aria-label={`Remove op ${index + 1}`} onClick={() => setOps(ops.filter((_, i) => i !== index))}>
                  ✕
                </button>
              </span>
            </div>
            {problems.at('ops', index, 'op') ? <span className="sl-field__error">{problems.at('ops', index, 'op')}</span> : null}
            <OpEditor index={index} op={op} problems={problems} sample={sample} onChange={(next) => updateOp(index, next)} />
          </div>
        ))}
        <div className="sl-pair__row">
          <SelectField label="New op" value={addKind} options={opKinds.map((kind) => ({ value: kind, label: opLabels[kind] ?? kind }))} onChange={setAddKind} />
          <button type="button" onClick={() => setOps([...ops, newOp(addKind)])}>
            Add op
          </button>
        </div>
      </Section>
      <Section title="Try it">
        {env.realSample ? (
          <div className="sl-sample">
            <button type="button" disabled={real.loading} onClick={() => void real.fill()}>
              {real.loading ? 'Reading a record…' : 'Fill from a real record'}
            </button>
            <span className={real.problem?.asked ? 'sl-field__error' : 'sl-muted'} role="status" data-testid="sample-source">
              {real.problem ? (real.problem.asked ? real.problem.message : `A made-up sample: ${real.problem.message}`) : (source ?? '')}
            </span>
          </div>
        ) : null}
        <TextArea label="Sample record" value={sampleText} rows={6} onChange={(text) => setSampleText(text)} error={sampleError} hint="Edit it freely: the previews follow." />
        {roundTrip && roundTrip.length > 0 ? (
          <div className="sl-warning" role="status">
            Backward does not invert forward on this sample, so these fields would flap between systems:
            <ul>
              {roundTrip.map((issue, i) => (
                <li key={i}>
                  {issue.part}: {issue.field} {show(issue.before)} comes back as {show(issue.after)}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </Section>
    </div>
  );
}

/**
 * Fills the sample from a real record of the trigger whose records reach this node: once when the form opens on a
 * sample nobody has touched, and again whenever the person asks.
 */
function useRealSample(nodeId: string, read: (() => Promise<RealSample>) | undefined, use: (record: Record<string, unknown>, from: string) => void) {
  const [loading, setLoading] = useState(false);
  // Why no real record came; `asked` when the person asked for one (an attempt on opening the form only informs).
  const [problem, setProblem] = useState<{ message: string; asked: boolean } | null>(null);
  // The latest callbacks, so a read that answers after a re-render (the environment is rebuilt on every edit) uses them.
  const latest = useRef({ read, use });
  latest.current = { read, use };
  const fill = async (onlyIfUntouched = false) => {
    const reader = latest.current.read;
    if (!reader) return;
    setLoading(true);
    setProblem(null);
    const result = await reader();
    setLoading(false);
    // A sample the person typed while the record was on its way is theirs.
    if (onlyIfUntouched && samples.has(nodeId)) return;
    if (result.ok) latest.current.use(result.record, `From record ${result.recordId} of ${result.triggerId}, as it reaches this node.`);
    else setProblem({ message: result.message, asked: !onlyIfUntouched });
  };
  const opened = useRef(false);
  useEffect(() => {
    if (opened.current || samples.has(nodeId) || !latest.current.read) return;
    opened.current = true;
    void fill(true);
    // Once per form opened on this node: `fill` reads its callbacks through `latest`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [nodeId]);
  return { loading, problem, fill: () => fill(false) };
}

function OpEditor({
  index,
  op,
  problems,
  sample,
  onChange,
}: {
  index: number;
  op: Op;
  problems: ConfigIssues;
  sample: FlowRecord | null;
  onChange(op: Op): void;
}) {
  const n = index + 1;
  const set = (key: string, value: unknown) => onChange(withKey(op, key, value));
  const text = (key: string) => (typeof op[key] === 'string' ? (op[key] as string) : '');
  const field = (key: string, label: string) => (
    <TextField label={`${label} (op ${n})`} value={text(key)} onChange={(value) => set(key, value)} error={problems.at('ops', index, key)} />
  );
  const list = (key: string, label: string) => {
    const items = Array.isArray(op[key]) ? (op[key] as unknown[]).map((item) => (typeof item === 'string' ? item : '')) : [];
    return (
      <TextField
        label={`${label} (op ${n})`}
        value={items.join(', ')}
        hint="Comma-separated field names."
        onChange={(value) => set(key, value.split(',').map((item) => item.trim()))}
        error={problems.within('ops', index, key)}
      />
    );
  };
  switch (op.op) {
    case 'rename':
      return (
        <>
          {field('from', 'From field')}
          {field('to', 'To field')}
        </>
      );
    case 'lowercase':
    case 'uppercase':
      return field('field', 'Field');
    case 'split':
      return (
        <>
          {field('field', 'Field')}
          {field('separator', 'Separator')}
          {list('into', 'Into fields')}
        </>
      );
    case 'join':
      return (
        <>
          {list('fields', 'Fields')}
          {field('separator', 'Separator')}
          {field('target', 'Joined field')}
        </>
      );
    case 'scale':
      return (
        <>
          {field('field', 'Field')}
          <NumberField label={`Factor (op ${n})`} value={typeof op.factor === 'number' ? op.factor : undefined} onChange={(value) => set('factor', value)} error={problems.at('ops', index, 'factor')} />
          <NumberField label={`Decimal places (op ${n})`} value={typeof op.precision === 'number' ? op.precision : undefined} min={0} max={15} onChange={(value) => set('precision', value)} error={problems.at('ops', index, 'precision')} />
        </>
      );
    case 'dateFormat':
      return (
        <>
          {field('field', 'Field')}
          <TextField label={`From format (op ${n})`} value={text('from')} suggestions={['iso', 'epoch-ms', 'epoch-s', 'YYYY-MM-DD']} onChange={(value) => set('from', value)} error={problems.at('ops', index, 'from')} />
          <TextField label={`To format (op ${n})`} value={text('to')} suggestions={['iso', 'epoch-ms', 'epoch-s', 'YYYY-MM-DD']} onChange={(value) => set('to', value)} error={problems.at('ops', index, 'to')} />
        </>
      );
    case 'default':
      return (
        <>
          {field('field', 'Field')}
          <ValueField label={`Value (op ${n})`} value={op.value} onChange={(value) => set('value', value)} error={problems.at('ops', index, 'value')} />
        </>
      );
    case 'valueMap':
      return <ValueMapEditor index={index} op={op} problems={problems} onChange={onChange} />;
    case 'expression':
      return <ExpressionEditor index={index} op={op} problems={problems} sample={sample} onChange={onChange} />;
    default:
      return <p className="sl-muted">This op is not known to the editor; it is kept as it is.</p>;
  }
}

function ValueMapEditor({ index, op, problems, onChange }: { index: number; op: Op; problems: ConfigIssues; onChange(op: Op): void }) {
  const n = index + 1;
  const values = Array.isArray(op.values) ? op.values.map(asRecord) : [];
  const setValues = (next: Record<string, unknown>[]) => onChange({ ...op, values: next });
  return (
    <>
      <TextField label={`Field (op ${n})`} value={typeof op.field === 'string' ? op.field : ''} onChange={(value) => onChange({ ...op, field: value })} error={problems.at('ops', index, 'field')} />
      {values.map((entry, i) => (
        <div className="sl-pair__row" key={i}>
          <ValueField label={`From value ${i + 1} (op ${n})`} value={entry.from} onChange={(from) => setValues(values.map((v, j) => (j === i ? { ...v, from } : v)))} />
          <ValueField label={`To value ${i + 1} (op ${n})`} value={entry.to} onChange={(to) => setValues(values.map((v, j) => (j === i ? { ...v, to } : v)))} />
          <button type="button" className="sl-remove" aria-label={`Remove value ${i + 1} of op ${n}`} onClick={() => setValues(values.filter((_, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" aria-label={`Add value to op ${n}`} onClick={() => setValues([...values, { from: '', to: '' }])}>
        Add value
      </button>
      <SelectField
        label={`Unmapped values (op ${n})`}
        value={typeof op.otherwise === 'string' ? op.otherwise : 'error'}
        options={[
          { value: 'error', label: 'Fail the record' },
          { value: 'copy', label: 'Copy unchanged' },
        ]}
        onChange={(value) => onChange(withKey(op, 'otherwise', value === 'error' ? undefined : value))}
        error={problems.at('ops', index, 'otherwise')}
      />
    </>
  );
}

function PreviewLine({ label, result }: { label: string; result: { value: unknown } | { error: string } | undefined }) {
  if (!result) return null;
  return (
    <div className={`sl-preview${'error' in result ? ' sl-preview--error' : ''}`} aria-label={label} role="status">
      {label}: {'error' in result ? result.error : show(result.value)}
    </div>
  );
}

function ExpressionEditor({ index, op, problems, sample, onChange }: { index: number; op: Op; problems: ConfigIssues; sample: FlowRecord | null; onChange(op: Op): void }) {
  const n = index + 1;
  const preview = useExpressionPreview(op, sample);
  const backwardMode = op.backward === undefined ? 'none' : typeof op.backward === 'string' ? 'single' : 'fields';
  const target = typeof op.target === 'string' ? op.target : '';
  const setBackward = (value: unknown) => onChange(withKey(op, 'backward', value));
  // Rows, not the object: a name typed on the way to another must not replace the expression that has it.
  const perField = useKeyedRows(backwardMode === 'fields' ? asRecord(op.backward) : {}, setBackward);
  const rows = perField.rows;
  return (
    <>
      <TextField label={`Computed field (op ${n})`} value={target} onChange={(value) => onChange({ ...op, target: value })} error={problems.at('ops', index, 'target')} />
      <TextArea
        label={`Forward expression (op ${n})`}
        value={typeof op.forward === 'string' ? op.forward : ''}
        onChange={(value) => onChange({ ...op, forward: value })}
        error={problems.at('ops', index, 'forward')}
        hint="JSONata over the record, e.g. first_name & ' ' & last_name"
      />
      <PreviewLine label={`Forward result (op ${n})`} result={preview?.forward ?? undefined} />
      <SelectField
        label={`Backward (op ${n})`}
        value={backwardMode}
        options={[
          { value: 'none', label: 'One-way: not written backward' },
          { value: 'fields', label: 'One expression per field' },
          { value: 'single', label: 'One expression returning an object' },
        ]}
        onChange={(mode) => setBackward(mode === 'none' ? undefined : mode === 'single' ? '{}' : {})}
        error={backwardMode === 'single' ? undefined : problems.at('ops', index, 'backward')}
      />
      {backwardMode === 'single' ? (
        <TextArea label={`Backward expression (op ${n})`} value={String(op.backward)} onChange={setBackward} error={problems.at('ops', index, 'backward')} />
      ) : null}
      {backwardMode === 'fields'
        ? rows.map(([field, source], i) => (
            <div className="sl-pair__row" key={i}>
              <TextField
                label={`Backward field ${i + 1} (op ${n})`}
                value={field}
                onChange={(name) => perField.update(rows.map((row, j) => (j === i ? [name, source] : row)))}
                error={repeatsName(rows, i) ? repeatedNameMessage('backward expression') : undefined}
              />
              <TextArea
                label={`Backward expression for ${field || `field ${i + 1}`} (op ${n})`}
                value={typeof source === 'string' ? source : ''}
                onChange={(value) => perField.update(rows.map((row, j) => (j === i ? [field, value] : row)))}
                error={problems.at('ops', index, 'backward', field)}
              />
              <button type="button" className="sl-remove" aria-label={`Remove backward field ${i + 1} (op ${n})`} onClick={() => perField.update(rows.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
          ))
        : null}
      {backwardMode === 'fields' ? (
        <button type="button" aria-label={`Add backward field (op ${n})`} onClick={() => perField.update([...rows, [freeRowName(rows), '']])}>
          Add backward field
        </button>
      ) : null}
      {preview?.backward
        ? 'error' in preview.backward
          ? <PreviewLine label={`Backward result (op ${n})`} result={preview.backward as { error: string }} />
          : Object.entries(preview.backward).map(([field, result]) => <PreviewLine key={field} label={`Backward ${field} (op ${n})`} result={result} />)
        : null}
      {preview && preview.lossy.length > 0 ? (
        <div className="sl-warning" role="status">
          Backward does not invert forward:{' '}
          {preview.lossy.map((loss) => `${loss.field} ${show(loss.before)} comes back as ${show(loss.after)}`).join('; ')}
        </div>
      ) : null}
    </>
  );
}
