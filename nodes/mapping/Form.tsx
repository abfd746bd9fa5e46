import { useState } from 'react';
import { asRecord, useConfigIssues } from '../forms/configIssues';
import { Section, SelectField, TextField, ValueField } from '../forms/kit';
import type { NodeFormProps } from '../forms/types';
import { mappingConfigSchema, pairDirectionSchema } from './schema';

const directionLabels: Record<string, { symbol: string; name: string }> = {
  both: { symbol: '↔', name: 'Both ways' },
  forward: { symbol: '→', name: 'Left to right only' },
  backward: { symbol: '←', name: 'Right to left only' },
};

const FIELD_MIME = 'application/x-syncline-field';

type Pair = Record<string, unknown>;

/** Pairs whose names match ignoring case, among fields not yet paired on either side. */
export function suggestedPairs(left: string[], right: string[], pairs: Pair[]): { left: string; right: string }[] {
  const usedLeft = new Set(pairs.map((pair) => String(pair.left ?? '').toLowerCase()));
  const usedRight = new Set(pairs.map((pair) => String(pair.right ?? '').toLowerCase()));
  const rightByName = new Map(right.map((name) => [name.toLowerCase(), name]));
  return left
    .filter((name) => !usedLeft.has(name.toLowerCase()) && !usedRight.has(name.toLowerCase()) && rightByName.has(name.toLowerCase()))
    .map((name) => ({ left: name, right: rightByName.get(name.toLowerCase()) as string }));
}

/** The mapping form: the fields of each side in two columns, pairs made by picking or dragging, a direction and value map per pair. */
export default function MappingForm({ config, onChange, issues, env }: NodeFormProps) {
  const c = asRecord(config);
  const problems = useConfigIssues(mappingConfigSchema, config, issues);
  const pairs: Pair[] = Array.isArray(c.fields) ? c.fields.map(asRecord) : [];
  const [picked, setPicked] = useState<string | null>(null);

  const setPairs = (next: Pair[]) => onChange({ ...c, fields: next });
  const addPair = (left: string, right: string) => setPairs([...pairs, { left, right, direction: 'both' }]);
  // A patch value of undefined removes the key: optional settings left empty are absent from the document.
  const updatePair = (index: number, patch: Pair) =>
    setPairs(pairs.map((pair, i) => (i === index ? Object.fromEntries(Object.entries({ ...pair, ...patch }).filter(([, v]) => v !== undefined)) : pair)));
  const removePair = (index: number) => setPairs(pairs.filter((_, i) => i !== index));

  const leftNames = env.fields.left.names;
  const rightNames = env.fields.right.names;
  const suggestions = suggestedPairs(leftNames, rightNames, pairs);
  const paired = (side: 'left' | 'right', name: string) => pairs.some((pair) => pair[side] === name);

  const pickRight = (name: string) => {
    if (picked === null) return;
    addPair(picked, name);
    setPicked(null);
  };

  return (
    <div className="sl-form">
      <Section title="Fields of each side">
        <div className="sl-columns">
          <div>
            <h4>
              Left {env.fields.left.described ? '' : <span className="sl-muted">(named in nearby nodes)</span>}
            </h4>
            {leftNames.length === 0 ? <p className="sl-muted">No fields known yet.</p> : null}
            {leftNames.map((name) => (
              <button
                key={name}
                type="button"
                className={`sl-chip${paired('left', name) ? ' sl-chip--paired' : ''}`}
                aria-pressed={picked === name}
                aria-label={`Left field ${name}`}
                draggable
                onDragStart={(event) => event.dataTransfer.setData(FIELD_MIME, name)}
                onClick={() => setPicked(picked === name ? null : name)}
              >
                {name}
              </button>
            ))}
          </div>
          <div>
            <h4>
              Right {env.fields.right.described ? '' : <span className="sl-muted">(named in nearby nodes)</span>}
            </h4>
            {rightNames.length === 0 ? <p className="sl-muted">No fields known yet.</p> : null}
            {rightNames.map((name) => (
              <button
                key={name}
                type="button"
                className={`sl-chip${paired('right', name) ? ' sl-chip--paired' : ''}`}
                aria-label={`Right field ${name}`}
                disabled={picked === null}
                onDragOver={(event) => event.dataTransfer.types.includes(FIELD_MIME) && event.preventDefault()}
                onDrop={(event) => {
                  const left = event.dataTransfer.getData(FIELD_MIME);
                  if (left) addPair(left, name);
                }}
                onClick={() => pickRight(name)}
              >
                {name}
              </button>
            ))}
          </div>
        </div>
        <p className="sl-muted">Pick a left field, then a right one (or drag left onto right) to pair them.</p>
      </Section>

      {suggestions.length > 0 ? (
        <Section title="Suggested pairs">
          <ul className="sl-list">
            {suggestions.map((suggestion) => (
              <li key={suggestion.left}>
                {suggestion.left} ↔ {suggestion.right}{' '}
                <button type="button" aria-label={`Accept ${suggestion.left} ↔ ${suggestion.right}`} onClick={() => addPair(suggestion.left, suggestion.right)}>
                  Accept
                </button>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => setPairs([...pairs, ...suggestions.map((s) => ({ left: s.left, right: s.right, direction: 'both' }))])}>
            Accept all suggestions
          </button>
        </Section>
      ) : null}

      <Section title="Pairs" error={problems.at('fields')}>
        {pairs.length === 0 ? <p className="sl-muted">No pairs: nothing passes this node until fields are paired.</p> : null}
        <p className="sl-muted">
          A field inside a nested object is a dotted path, such as <code>properties.email</code>; write a dot that is part of a name as <code>\.</code>.
        </p>
        {pairs.map((pair, index) => (
          <PairEditor
            key={index}
            index={index}
            pair={pair}
            leftNames={leftNames}
            rightNames={rightNames}
            problems={problems}
            onChange={(patch) => updatePair(index, patch)}
            onRemove={() => removePair(index)}
          />
        ))}
        <button type="button" onClick={() => addPair('', '')}>
          Add pair
        </button>
      </Section>
    </div>
  );
}

function PairEditor({
  index,
  pair,
  leftNames,
  rightNames,
  problems,
  onChange,
  onRemove,
}: {
  index: number;
  pair: Pair;
  leftNames: string[];
  rightNames: string[];
  problems: ReturnType<typeof useConfigIssues>;
  onChange(patch: Pair): void;
  onRemove(): void;
}) {
  const n = index + 1;
  const values = Array.isArray(pair.values) ? pair.values.map(asRecord) : [];
  const direction = typeof pair.direction === 'string' ? pair.direction : 'both';
  const setValues = (next: Record<string, unknown>[] | undefined) => onChange(next === undefined ? { values: undefined, otherwise: undefined } : { values: next });
  return (
    <div className="sl-pair" role="group" aria-label={`Pair ${n}`}>
      <div className="sl-pair__row">
        <TextField label={`Left field of pair ${n}`} value={String(pair.left ?? '')} suggestions={leftNames} onChange={(left) => onChange({ left })} error={problems.at('fields', index, 'left')} />
        <div className="sl-toggle" role="group" aria-label={`Direction of pair ${n}`}>
          {pairDirectionSchema.options.map((option) => (
            <button
              key={option}
              type="button"
              aria-pressed={direction === option}
              aria-label={directionLabels[option]?.name ?? option}
              title={directionLabels[option]?.name}
              onClick={() => onChange({ direction: option })}
            >
              {directionLabels[option]?.symbol ?? option}
            </button>
          ))}
        </div>
        <TextField label={`Right field of pair ${n}`} value={String(pair.right ?? '')} suggestions={rightNames} onChange={(right) => onChange({ right })} error={problems.at('fields', index, 'right')} />
        <button type="button" className="sl-remove" aria-label={`Remove pair ${n}`} onClick={onRemove}>
          ✕
        </button>
      </div>
      {problems.at('fields', index, 'direction') ? <span className="sl-field__error">{problems.at('fields', index, 'direction')}</span> : null}
      {values.length > 0 ? (
        <div className="sl-values" role="group" aria-label={`Value map of pair ${n}`}>
          {values.map((entry, valueIndex) => (
            <div className="sl-pair__row" key={valueIndex}>
              <ValueField
                label={`Left value ${valueIndex + 1} of pair ${n}`}
                value={entry.left}
                onChange={(left) => setValues(values.map((v, i) => (i === valueIndex ? { ...v, left } : v)))}
                error={problems.at('fields', index, 'values', valueIndex, 'left')}
              />
              <ValueField
                label={`Right value ${valueIndex + 1} of pair ${n}`}
                value={entry.right}
                onChange={(right) => setValues(values.map((v, i) => (i === valueIndex ? { ...v, right } : v)))}
                error={problems.at('fields', index, 'values', valueIndex, 'right')}
              />
              <button
                type="button"
                className="sl-remove"
                aria-label={`Remove value ${valueIndex + 1} of pair ${n}`}
                onClick={() => setValues(values.length === 1 ? undefined : values.filter((_, i) => i !== valueIndex))}
              >
                ✕
              </button>
            </div>
          ))}
          <SelectField
            label={`Unmapped values of pair ${n}`}
            value={typeof pair.otherwise === 'string' ? pair.otherwise : 'error'}
            options={[
              { value: 'error', label: 'Fail the record' },
              { value: 'copy', label: 'Copy unchanged' },
            ]}
            onChange={(otherwise) => onChange({ otherwise: otherwise === 'error' ? undefined : otherwise })}
            error={problems.at('fields', index, 'otherwise')}
          />
        </div>
      ) : null}
      {problems.at('fields', index, 'values') ? <span className="sl-field__error">{problems.at('fields', index, 'values')}</span> : null}
      <button type="button" className="sl-small" onClick={() => setValues([...values, { left: '', right: '' }])} aria-label={`Add value to pair ${n}`}>
        + value map
      </button>
    </div>
  );
}
