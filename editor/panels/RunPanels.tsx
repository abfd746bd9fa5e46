import { useEffect, useState } from 'react';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { FieldChanges, ShowValue } from './values';
import { useNodeNames } from './useNodeNames';

/** The last API failure, in the runtime's own words. */
function ApiErrorMessage() {
  const error = useFlowStore((state) => state.apiError);
  if (!error) return null;
  return (
    <div className="sl-error" role="alert">
      {error.split('\n').map((line, index) => (
        <div key={index}>{line}</div>
      ))}
    </div>
  );
}

/** What a pass would write, per side: creates, updates and deletes, field by field. */
export function DryRunPanel() {
  const sides = useFlowStore((state) => state.dryRun);
  const busy = useFlowStore((state) => state.busy === 'dry-run');
  const names = useNodeNames();
  return (
    <div>
      <ApiErrorMessage />
      {busy ? <p role="status">Working out what a pass would write…</p> : null}
      {sides && sides.length === 0 ? <p>Nothing to write: every side is in step.</p> : null}
      {sides?.map((side) => (
        <section key={side.nodeId} className="sl-side" aria-label={`Dry run for ${names[side.nodeId] ?? side.nodeId}`}>
          <h3>
            {names[side.nodeId] ?? side.nodeId}: {side.creates.length} to create, {side.updates.length} to update, {side.deletes.length} to delete
          </h3>
          {side.creates.map((create, index) => (
            <details key={`c${index}`} open={index < 3}>
              <summary>Create a new record</summary>
              <FieldChanges fields={create.fields} caption={`New record ${index + 1} on ${side.nodeId}`} />
            </details>
          ))}
          {side.updates.map((update) => (
            <details key={`u${update.id}`} open>
              <summary>Update record {update.id}</summary>
              <FieldChanges fields={update.fields} caption={`Update of ${update.id} on ${side.nodeId}`} />
            </details>
          ))}
          {side.deletes.map((removal) => (
            <p key={`d${removal.id}`}>Delete record {removal.id}</p>
          ))}
        </section>
      ))}
    </div>
  );
}

const outcomeLabels: Record<string, string> = {
  created: 'created',
  updated: 'updated',
  deleted: 'deleted',
  echo: 'echo dropped',
  conflict: 'conflict',
  failed: 'failed',
  unchanged: 'unchanged',
};

/** The run history, and one run's per-record outcomes with field-level details. */
export function RunsPanel() {
  const store = useFlowStoreApi();
  const runs = useFlowStore((state) => state.runs);
  const openRun = useFlowStore((state) => state.openRun);
  const busy = useFlowStore((state) => state.busy === 'runs');
  const names = useNodeNames();
  useEffect(() => {
    void store.getState().loadRuns();
  }, [store]);
  return (
    <div className="sl-runs">
      <ApiErrorMessage />
      <div>
        <button type="button" onClick={() => void store.getState().loadRuns()}>
          Refresh runs
        </button>
        {busy ? <span role="status"> Loading…</span> : null}
        {runs && runs.length === 0 ? <p>No runs yet: use “Run now”, or deploy the flow.</p> : null}
        {runs && runs.length > 0 ? (
          <table className="sl-table" aria-label="Run history">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Summary</th>
                <th scope="col"></th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id} className={openRun?.run.id === run.id ? 'sl-row--open' : undefined}>
                  <td>{new Date(run.startedAt).toLocaleString()}</td>
                  <td className={`sl-status sl-status--${run.status}`}>
                    {run.status}
                    {run.dryRun ? ' (dry run)' : ''}
                  </td>
                  <td>
                    {run.summary
                      ? `${run.summary.created} created · ${run.summary.updated} updated · ${run.summary.deleted} deleted · ${run.summary.echoes} echoes · ${run.summary.conflicts} conflicts · ${run.summary.failed} failed`
                      : (run.error ?? '')}
                  </td>
                  <td>
                    <button type="button" aria-label={`Show run ${run.id}`} onClick={() => void store.getState().openRunLog(run.id)}>
                      Details
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
      {openRun ? (
        <section aria-label={`Run ${openRun.run.id}`} className="sl-runlog">
          <h3>
            Run {openRun.run.id}: {openRun.run.status}
            {openRun.run.error ? ` — ${openRun.run.error}` : ''}
          </h3>
          {openRun.log.length === 0 ? <p>No records were touched in this run.</p> : null}
          <ul className="sl-list">
            {openRun.log.map((entry, index) => (
              <li key={index}>
                <details>
                  <summary>
                    <span className={`sl-outcome sl-outcome--${entry.outcome}`}>{outcomeLabels[entry.outcome] ?? entry.outcome}</span> record{' '}
                    {entry.recordId ?? '(new)'} on {names[entry.nodeId] ?? entry.nodeId}
                    {entry.message ? ` — ${entry.message}` : ''}
                  </summary>
                  <FieldChanges fields={entry.fields} caption={`Fields of record ${entry.recordId ?? index}`} />
                </details>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

/** Open conflicts with the base and every side's value, each resolved with one click or a typed value. */
export function ConflictsPanel() {
  const store = useFlowStoreApi();
  const conflicts = useFlowStore((state) => state.conflicts);
  const busy = useFlowStore((state) => state.busy === 'conflicts');
  const names = useNodeNames();
  const [typed, setTyped] = useState<Record<string, string>>({});
  useEffect(() => {
    void store.getState().loadConflicts();
  }, [store]);
  const open = conflicts?.filter((conflict) => conflict.status === 'open') ?? null;
  return (
    <div>
      <ApiErrorMessage />
      <button type="button" onClick={() => void store.getState().loadConflicts()}>
        Refresh conflicts
      </button>
      {busy ? <span role="status"> Loading…</span> : null}
      {open && open.length === 0 ? <p>No open conflicts.</p> : null}
      {open?.map((conflict) => {
        const subject = conflict.field ? `${conflict.field} of ${conflict.entityId}` : conflict.entityId;
        const parseTyped = () => {
          const text = typed[conflict.id] ?? '';
          try {
            return JSON.parse(text) as unknown;
          } catch {
            return text;
          }
        };
        return (
          <section key={conflict.id} className="sl-conflict" aria-label={`Conflict on ${subject}`}>
            <h3>
              {conflict.kind} conflict on {subject}
            </h3>
            <table className="sl-table sl-table--compact">
              <tbody>
                <tr>
                  <th scope="row">Base (last in sync)</th>
                  <td>
                    <ShowValue value={conflict.base} />
                  </td>
                  <td></td>
                </tr>
                {Object.entries(conflict.sides).map(([side, value]) => (
                  <tr key={side}>
                    <th scope="row">{names[side] ?? side}</th>
                    <td>
                      <ShowValue value={value} />
                    </td>
                    <td>
                      <button type="button" onClick={() => void store.getState().resolveConflict(conflict.id, { side })}>
                        Keep {names[side] ?? side}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {conflict.kind === 'field' ? (
              <div className="sl-pair__row">
                <div className="sl-field">
                  <label htmlFor={`typed-${conflict.id}`}>Another value for {subject}</label>
                  <input
                    id={`typed-${conflict.id}`}
                    value={typed[conflict.id] ?? ''}
                    onChange={(event) => setTyped({ ...typed, [conflict.id]: event.target.value })}
                  />
                </div>
                <button type="button" disabled={(typed[conflict.id] ?? '') === ''} onClick={() => void store.getState().resolveConflict(conflict.id, { value: parseTyped() })}>
                  Use this value
                </button>
              </div>
            ) : null}
          </section>
        );
      })}
    </div>
  );
}
