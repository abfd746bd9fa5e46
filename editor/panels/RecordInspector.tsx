import type { EntityInspectionView } from '../api/client';
import type { FieldProvenanceView } from '../../runtime/api/schemas';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { Drawer } from '../store/types';
import { outcomeLabels, recordLabel } from './RunPanels';
import { useNodeNames } from './useNodeNames';
import { ShowValue } from './values';

const backLabels: Partial<Record<Drawer, string>> = { runs: 'Back to the run history', conflicts: 'Back to the conflicts', 'dry-run': 'Back to the dry run' };

const when = (iso: string) => new Date(iso).toLocaleString();

/** The rule that set a value, as a person says it: the rule's name, then what it means for this field. */
export function ruleWords(provenance: FieldProvenanceView, sideName: (nodeId: string) => string): { rule: string; meaning: string } {
  const side = provenance.side === null ? null : sideName(provenance.side);
  switch (provenance.rule) {
    case 'only change':
      return { rule: 'only change', meaning: `${side} was the only side that changed it` };
    case 'agreement':
      return { rule: 'agreement', meaning: 'the sides that changed it changed it to the same value' };
    case 'latest write':
      return { rule: 'latest write', meaning: `the sides disagreed; ${side} changed it last` };
    case 'prefer':
      return { rule: `prefer ${side}`, meaning: `the sides disagreed; the flow prefers ${side}` };
    case 'manual resolution':
      return { rule: 'manual resolution', meaning: side === null ? 'a person typed this value to settle a conflict' : `a person kept ${side}’s value to settle a conflict` };
    case 'first sync':
      return { rule: 'first sync', meaning: `the record was first synced from ${side}` };
  }
}

/** A run, by when it began: opens its details in the run history. */
function RunLink({ runId, startedAt }: { runId: string; startedAt: string }) {
  const store = useFlowStoreApi();
  return (
    <button
      type="button"
      className="sl-link"
      aria-label={`Show the run of ${when(startedAt)}`}
      onClick={() => {
        store.getState().openDrawer('runs');
        void store.getState().openRunLog(runId);
      }}
    >
      {when(startedAt)}
    </button>
  );
}

/** Where the value came from: the side (or a person), and the run that set it. */
function Origin({ provenance, sideName }: { provenance: FieldProvenanceView; sideName: (nodeId: string) => string }) {
  return (
    <>
      <span>{provenance.side === null ? 'a person' : sideName(provenance.side)}</span>
      {provenance.runId ? (
        <>
          {', in the run of '}
          <RunLink runId={provenance.runId} startedAt={provenance.runStartedAt ?? provenance.at} />
        </>
      ) : (
        <span>{`, ${when(provenance.at)}`}</span>
      )}
    </>
  );
}

/**
 * Why a field has no recorded origin: a field held by a conflict since the record was first linked has no value yet,
 * which the conflict decides; any other was set before Syncline kept where values came from.
 */
function unrecordedOrigin(held: boolean, value: unknown): string {
  return held && value === null ? 'nothing yet: the open conflict below decides its value' : 'not recorded (set before Syncline kept where values came from)';
}

/** The record field by field: its value now, where it came from, the value before and the rule that decided it. */
export function FieldsTable({ view, label, sideName }: { view: EntityInspectionView; label: string; sideName: (nodeId: string) => string }) {
  const held = new Set(view.conflicts.filter((conflict) => conflict.kind === 'field' && conflict.field).map((conflict) => conflict.field as string));
  return (
    <table className="sl-table sl-table--compact" aria-label={`Fields of ${label}`}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Value now</th>
          <th scope="col">Came from</th>
          <th scope="col">Before</th>
          <th scope="col">Decided by</th>
        </tr>
      </thead>
      <tbody>
        {view.fields.map(({ field, value, provenance }) => {
          const words = provenance ? ruleWords(provenance, sideName) : null;
          return (
            <tr key={field}>
              <th scope="row">{field}</th>
              <td>
                <ShowValue value={value} />
                {held.has(field) ? <div className="sl-muted">waiting on an open conflict</div> : null}
              </td>
              <td>{provenance ? <Origin provenance={provenance} sideName={sideName} /> : <span className="sl-muted">{unrecordedOrigin(held.has(field), value)}</span>}</td>
              <td>{provenance ? <ShowValue value={provenance.before} /> : null}</td>
              <td>
                {words ? (
                  <>
                    <strong>{words.rule}</strong>
                    <div className="sl-muted">{words.meaning}</div>
                  </>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Conflicts({ view, label, sideName }: { view: EntityInspectionView; label: string; sideName: (nodeId: string) => string }) {
  const store = useFlowStoreApi();
  if (view.conflicts.length === 0) return null;
  return (
    <section aria-label={`Open conflicts of ${label}`}>
      <h4>Waiting for a decision</h4>
      {view.conflicts.map((conflict) => (
        <div key={conflict.id} className="sl-conflict">
          <p>
            {conflict.kind === 'field' ? `“${conflict.field}” differs between the sides; last in sync: ` : `${conflict.kind} conflict; last in sync: `}
            <ShowValue value={conflict.kind === 'field' ? conflict.base : null} />
          </p>
          <ul className="sl-list">
            {Object.entries(conflict.sides).map(([side, value]) => (
              <li key={side}>
                {sideName(side)}: <ShowValue value={value} />{' '}
                <button type="button" onClick={() => void store.getState().resolveInspected(conflict.id, { side })}>
                  Keep {sideName(side)}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}

function Sides({ view, sideName }: { view: EntityInspectionView; sideName: (nodeId: string) => string }) {
  return (
    <section aria-label="The record on each side">
      <h4>On each side</h4>
      <p className="sl-muted">Each side’s record as last in sync, in the field names the sides share (the conflict node’s).</p>
      {view.sides.map((side) => {
        const name = sideName(side.nodeId);
        return (
          <section key={side.nodeId} aria-label={`On ${name}`} className="sl-side">
            <h5>
              {name}: {side.recordId === null ? 'no record there' : recordLabel(side.recordName, side.recordId)}
              {side.gone ? ' — deleted there, and kept so that it is not created again' : ''}
            </h5>
            {side.shadow ? (
              <table className="sl-table sl-table--compact" aria-label={`${name} as last in sync`}>
                <tbody>
                  {Object.entries(side.shadow).map(([field, value]) => (
                    <tr key={field}>
                      <th scope="row">{field}</th>
                      <td>
                        <ShowValue value={value} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : side.recordId !== null ? (
              <p className="sl-muted">Linked, not yet in sync.</p>
            ) : null}
          </section>
        );
      })}
    </section>
  );
}

function Activity({ view, sideName }: { view: EntityInspectionView; sideName: (nodeId: string) => string }) {
  if (view.log.length === 0) return null;
  return (
    <section aria-label="Recent activity">
      <h4>Recent activity</h4>
      <ul className="sl-list">
        {view.log.map((line, index) => (
          <li key={index}>
            <RunLink runId={line.runId} startedAt={line.runStartedAt} />: <span className={`sl-outcome sl-outcome--${line.outcome}`}>{outcomeLabels[line.outcome] ?? line.outcome}</span> on{' '}
            {sideName(line.nodeId)}
            {line.message ? ` — ${line.message}` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The record as a person knows it: its display name, else its record id on the first side that holds it. */
function nameOf(view: EntityInspectionView, sideName: (nodeId: string) => string): string {
  if (view.recordName) return `“${view.recordName}”`;
  const held = view.sides.find((side) => side.recordId !== null);
  return held ? `${recordLabel(null, held.recordId)} of ${sideName(held.nodeId)}` : 'without a record on any side';
}

/**
 * The record inspector: why a linked record holds what it holds. Per field, its value now, the side and run that set
 * it, the value before and the rule that decided it; then what waits on a decision, each side's record as last in
 * sync, and the record's recent activity.
 */
export function RecordInspector() {
  const store = useFlowStoreApi();
  const inspected = useFlowStore((state) => state.inspected);
  const openFlow = useFlowStore((state) => state.savedId);
  const names = useNodeNames();
  const sideName = (nodeId: string) => names[nodeId] ?? nodeId;
  // A record of another flow than the one open would be explained in this canvas's node names: it is not shown.
  if (!inspected || inspected.flowId !== openFlow) return <p>Choose “Inspect record” on a record of a run, or on a conflict.</p>;
  const { view, error, from } = inspected;
  const label = view ? nameOf(view, sideName) : 'the record';
  return (
    <div className="sl-inspector">
      <div className="sl-runs__bar">
        {from && backLabels[from] ? (
          <button type="button" onClick={() => store.getState().closeInspection()}>
            {backLabels[from]}
          </button>
        ) : null}
        <button type="button" onClick={() => void store.getState().reloadInspection()}>
          Refresh record
        </button>
      </div>
      {error ? (
        <div className="sl-error" role="alert">
          {error}
        </div>
      ) : null}
      {!view && !error ? <p role="status">Reading the record…</p> : null}
      {view ? (
        <section aria-label={`Record ${label}`}>
          <h3>Record {label}</h3>
          {view.deleted ? <p>Deleted: what is left of it on the sides is no longer synced.</p> : null}
          {view.quarantined ? <p>Quarantined by the breaker (it was written too often): release it in the conflicts inbox.</p> : null}
          <FieldsTable view={view} label={label} sideName={sideName} />
          <Conflicts view={view} label={label} sideName={sideName} />
          <Sides view={view} sideName={sideName} />
          <Activity view={view} sideName={sideName} />
        </section>
      ) : null}
    </div>
  );
}
