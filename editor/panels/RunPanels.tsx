import { useEffect, useMemo, useState } from 'react';
import type { RunFilter, RunRecord } from '../api/client';
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
            {side.skipped?.length ? `, ${side.skipped.length} not carried` : ''}
          </h3>
          {side.creates.map((create, index) => (
            <details key={`c${index}`} open={index < 3}>
              <summary>Create a new record</summary>
              <FieldChanges fields={create.fields} caption={`New record ${index + 1} on ${side.nodeId}`} />
            </details>
          ))}
          {side.updates.map((update) => (
            <details key={`u${update.id}`} open>
              <summary>Update {recordLabel(update.recordName, update.id)}</summary>
              <FieldChanges fields={update.fields} caption={`Update of ${recordLabel(update.recordName, update.id)} on ${side.nodeId}`} />
            </details>
          ))}
          {side.deletes.map((removal) => (
            <p key={`d${removal.id}`}>Delete {recordLabel(removal.recordName, removal.id)}</p>
          ))}
          {side.skipped?.length ? (
            <ul className="sl-list" aria-label={`Not carried from ${names[side.nodeId] ?? side.nodeId}`}>
              {side.skipped.map((skip, index) => (
                <li key={`s${index}`}>
                  <span className="sl-outcome sl-outcome--skipped">{outcomeLabels.skipped}</span> {recordLabel(skip.recordName, skip.id)} — {skip.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </section>
      ))}
    </div>
  );
}

/** A run log line's outcome as a person reads it. */
export const outcomeLabels: Record<string, string> = {
  created: 'created',
  updated: 'updated',
  deleted: 'deleted',
  echo: 'echo dropped',
  conflict: 'conflict',
  failed: 'failed',
  unchanged: 'unchanged',
  skipped: 'skipped',
  adopted: 'adopted',
};

/** Opens the record inspector on a record; its accessible name says which record (`name`). */
function InspectButton({ name, onClick }: { name: string; onClick(): void }) {
  return (
    <button type="button" aria-label={`Inspect record ${name}`} onClick={onClick}>
      Inspect record
    </button>
  );
}

/** A record as a person knows it: by its display field when it has one, else by its id. */
export function recordLabel(name: string | null | undefined, id: string | null): string {
  if (name) return id ? `“${name}” (${id})` : `“${name}”`;
  return id ? `record ${id}` : 'a new record';
}

/** A pass that wrote, filed and failed nothing: the history folds runs of them into one row. */
export function isQuiet(run: RunRecord): boolean {
  const summary = run.summary;
  return (
    run.status === 'ok' &&
    !run.dryRun &&
    summary !== null &&
    summary.created + summary.updated + summary.deleted + summary.conflicts + summary.failed === 0
  );
}

/** What a pass did, naming only what happened. */
export function describeSummary(run: RunRecord): string {
  const summary = run.summary;
  if (!summary) return run.error ?? '';
  const parts: string[] = [];
  for (const [count, word] of [
    [summary.created, 'created'],
    [summary.updated, 'updated'],
    [summary.deleted, 'deleted'],
    [summary.conflicts, summary.conflicts === 1 ? 'conflict' : 'conflicts'],
    [summary.failed, 'failed'],
    [summary.echoes, summary.echoes === 1 ? 'echo dropped' : 'echoes dropped'],
  ] as const) {
    if (count > 0) parts.push(`${count} ${word}`);
  }
  const text = parts.length > 0 ? parts.join(' · ') : 'nothing to write: every side in step';
  return run.error ? `${text} — ${run.error}` : text;
}

/** Runs in the order shown: each run, or a fold of consecutive quiet passes. */
type HistoryItem = { kind: 'run'; run: RunRecord } | { kind: 'quiet'; runs: RunRecord[] };

export function foldQuietRuns(runs: readonly RunRecord[]): HistoryItem[] {
  const items: HistoryItem[] = [];
  for (const run of runs) {
    const last = items.at(-1);
    if (isQuiet(run) && last?.kind === 'quiet') last.runs.push(run);
    else if (isQuiet(run)) items.push({ kind: 'quiet', runs: [run] });
    else items.push({ kind: 'run', run });
  }
  // A single quiet pass is shown as itself: folding one row into one row hides nothing.
  return items.map((item) => (item.kind === 'quiet' && item.runs.length === 1 ? { kind: 'run', run: item.runs[0] as RunRecord } : item));
}

const filters: { value: RunFilter; label: string }[] = [
  { value: 'all', label: 'All runs' },
  { value: 'changes', label: 'With changes' },
  { value: 'failed', label: 'Failed' },
  { value: 'conflicts', label: 'With conflicts' },
];

function RunRow({ run, open }: { run: RunRecord; open: boolean }) {
  const store = useFlowStoreApi();
  return (
    <tr className={open ? 'sl-row--open' : undefined}>
      <td>{new Date(run.startedAt).toLocaleString()}</td>
      <td className={`sl-status sl-status--${run.status}`}>
        {run.status}
        {run.dryRun ? ' (dry run)' : ''}
        {run.process ? <span className="sl-run-process"> on {run.process}</span> : null}
      </td>
      <td>{describeSummary(run)}</td>
      <td>
        <button type="button" aria-label={`Show run ${run.id}`} onClick={() => void store.getState().openRunLog(run.id)}>
          Details
        </button>
      </td>
    </tr>
  );
}

function QuietRows({ runs, openId }: { runs: RunRecord[]; openId: string | undefined }) {
  const [expanded, setExpanded] = useState(false);
  const newest = runs[0] as RunRecord;
  const oldest = runs.at(-1) as RunRecord;
  return (
    <>
      <tr className="sl-quiet">
        <td>
          {new Date(oldest.startedAt).toLocaleTimeString()} – {new Date(newest.startedAt).toLocaleTimeString()}
        </td>
        <td className="sl-status sl-status--ok">ok</td>
        <td>{runs.length} quiet passes: nothing to write</td>
        <td>
          <button type="button" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
            {expanded ? 'Fold' : 'Show'}
          </button>
        </td>
      </tr>
      {expanded ? runs.map((run) => <RunRow key={run.id} run={run} open={openId === run.id} />) : null}
    </>
  );
}

/** The run history like an activity stream (quiet passes folded, filters, older pages), and one run's records. */
export function RunsPanel() {
  const store = useFlowStoreApi();
  const runs = useFlowStore((state) => state.runs);
  const filter = useFlowStore((state) => state.runFilter);
  const complete = useFlowStore((state) => state.runsComplete);
  const openRun = useFlowStore((state) => state.openRun);
  const busy = useFlowStore((state) => state.busy === 'runs');
  const stored = useFlowStore((state) => state.savedId !== null);
  const names = useNodeNames();
  useEffect(() => {
    void store.getState().loadRuns();
  }, [store]);
  const items = useMemo(() => foldQuietRuns(runs ?? []), [runs]);
  return (
    <div className="sl-runs">
      <ApiErrorMessage />
      <div>
        <div className="sl-runs__bar">
          <div role="group" aria-label="Show runs" className="sl-segmented">
            {filters.map((option) => (
              <button key={option.value} type="button" aria-pressed={filter === option.value} onClick={() => void store.getState().loadRuns(option.value)}>
                {option.label}
              </button>
            ))}
          </div>
          <button type="button" onClick={() => void store.getState().loadRuns()}>
            Refresh runs
          </button>
          {busy ? <span role="status"> Loading…</span> : null}
        </div>
        {runs && runs.length === 0 ? (
          <p>{!stored ? 'No runs yet: use “Run now”, or deploy the flow.' : filter === 'all' ? 'No runs yet: use “Run now”, or deploy the flow.' : 'No runs of this kind in the history.'}</p>
        ) : null}
        {runs && runs.length > 0 ? (
          <table className="sl-table" aria-label="Run history">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">What happened</th>
                <th scope="col">
                  <span className="sl-visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) =>
                item.kind === 'run' ? (
                  <RunRow key={item.run.id} run={item.run} open={openRun?.run.id === item.run.id} />
                ) : (
                  <QuietRows key={`quiet-${item.runs[0]?.id}`} runs={item.runs} openId={openRun?.run.id} />
                ),
              )}
            </tbody>
          </table>
        ) : null}
        {runs && runs.length > 0 && !complete ? (
          <button type="button" onClick={() => void store.getState().loadOlderRuns()}>
            Load older runs
          </button>
        ) : null}
      </div>
      {openRun ? (
        <section aria-label={`Run ${openRun.run.id}`} className="sl-runlog">
          <h3>
            Run of {new Date(openRun.run.startedAt).toLocaleString()}: {openRun.run.status}
            {openRun.run.error ? ` — ${openRun.run.error}` : ''}
          </h3>
          {openRun.log.length === 0 ? <p>No records were touched in this run.</p> : null}
          <ul className="sl-list">
            {openRun.log.map((entry, index) => (
              <li key={index} className="sl-logline">
                <details>
                  <summary>
                    <span className={`sl-outcome sl-outcome--${entry.outcome}`}>{outcomeLabels[entry.outcome] ?? entry.outcome}</span>{' '}
                    {recordLabel(entry.recordName, entry.recordId)} on {names[entry.nodeId] ?? entry.nodeId}
                    {entry.message ? ` — ${entry.message}` : ''}
                  </summary>
                  <FieldChanges fields={entry.fields} caption={`Fields of ${recordLabel(entry.recordName, entry.recordId ?? String(index))}`} />
                </details>
                {entry.entityId ? (
                  <InspectButton
                    name={`${recordLabel(entry.recordName, entry.recordId)} on ${names[entry.nodeId] ?? entry.nodeId}`}
                    onClick={() => void store.getState().inspectRecord(entry.entityId as string, 'runs')}
                  />
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

const conflictKinds: Record<string, string> = {
  field: 'The sides disagree',
  match: 'More than one record matches',
  delete: 'Deleted on one side',
  'mass-delete': 'Many deletes held for review',
  breaker: 'Rewritten too often (quarantined)',
  key: 'Key held by another record',
};

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
        const record = conflict.recordName ? `“${conflict.recordName}”` : `record ${conflict.entityId}`;
        // A key conflict's field is the side where another record holds the key; a mass delete's, the side it would
        // delete from (none in reviews filed before they named it), and it has no record.
        const namedSide = (conflict.kind === 'key' || conflict.kind === 'mass-delete') && conflict.field ? (names[conflict.field] ?? conflict.field) : null;
        const keySide = conflict.kind === 'key' ? namedSide : null;
        const massDelete = conflict.kind === 'mass-delete';
        const subject = massDelete ? (namedSide ?? 'this flow') : keySide ? `${keySide}, for ${record}` : conflict.field ? `${conflict.field} of ${record}` : record;
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
              {conflictKinds[conflict.kind] ?? `${conflict.kind} conflict`} on {subject}
            </h3>
            {conflict.entityId ? <InspectButton name={record} onClick={() => void store.getState().inspectRecord(conflict.entityId, 'conflicts')} /> : null}
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
                      {keySide || massDelete ? null : (
                        <button type="button" onClick={() => void store.getState().resolveConflict(conflict.id, { side })}>
                          Keep {names[side] ?? side}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {keySide ? <p>Free the key on {keySide} (remove the record that holds it, or give that record another key): the next run creates this record there.</p> : null}
            {massDelete ? (
              <p>
                Runs stop here until these deletes are reviewed.{' '}
                <button type="button" onClick={() => void store.getState().resolveConflict(conflict.id, { value: 'proceed' })}>
                  Let the deletes proceed
                </button>
              </p>
            ) : null}
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
