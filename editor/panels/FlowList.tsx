import type { FlowOverview } from '../../runtime/api/schemas';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { NoticeBar } from './NoticeBar';

/** A flow's state in the words of the toolbar: never deployed, deployed, paused, with changes not deployed yet. */
export function overviewState(flow: FlowOverview): string {
  if (!flow.stored || flow.version === null) return 'Draft — not deployed';
  const changed = flow.draft?.changed ? ' · changed since deploy' : '';
  return `${flow.deployed ? 'Deployed' : 'Paused'}${changed}`;
}

function stateTone(flow: FlowOverview): string {
  if (!flow.stored || flow.version === null) return 'draft';
  return flow.deployed ? 'deployed' : 'paused';
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function since(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

/** One flow: its name (opens it), state, last pass, records in sync, changes, what needs a person, and its controls. */
function FlowRow({ flow }: { flow: FlowOverview }) {
  const store = useFlowStoreApi();
  const busy = useFlowStore((state) => state.busy !== null);
  const health = flow.health;
  const attention: string[] = [];
  if (health && health.failing > 0) attention.push(plural(health.failing, 'failing record'));
  const openInbox = async () => {
    await store.getState().openFlow(flow.id);
    if (store.getState().screen === 'canvas') store.getState().openDrawer('conflicts');
  };
  return (
    <tr aria-label={flow.name || flow.id} data-flow={flow.id}>
      <th scope="row">
        <button type="button" className="sl-link sl-flowname" onClick={() => void store.getState().openFlow(flow.id)}>
          {flow.name || flow.id}
        </button>
        <div className="sl-muted">{flow.id}</div>
      </th>
      <td>
        <span className={`sl-badge-state sl-badge-state--${stateTone(flow)}`}>{overviewState(flow)}</span>
      </td>
      <td>
        {health?.lastRun ? (
          <span className={`sl-status sl-status--${health.lastRun.status}`}>
            {health.lastRun.status === 'ok' ? 'ran' : health.lastRun.status} {since(health.lastRun.startedAt)}
          </span>
        ) : (
          <span className="sl-muted">never ran</span>
        )}
      </td>
      <td data-testid="synced">{health ? plural(health.synced, 'record') : '—'}</td>
      <td data-testid="changes">{health ? health.changesLastHour : '—'}</td>
      <td>
        {health && health.openConflicts > 0 ? (
          <button type="button" className="sl-attention" onClick={() => void openInbox()}>
            {plural(health.openConflicts, 'open conflict')}
          </button>
        ) : null}
        {attention.length > 0 ? <span className="sl-attention-text">{attention.join(' · ')}</span> : null}
        {(!health || health.openConflicts === 0) && attention.length === 0 ? <span className="sl-muted">nothing</span> : null}
      </td>
      <td className="sl-row-actions">
        {flow.deployed ? (
          <button type="button" disabled={busy} onClick={() => void store.getState().pauseFlow(flow.id)}>
            Pause
          </button>
        ) : flow.stored && flow.version !== null ? (
          <button type="button" disabled={busy} onClick={() => void store.getState().resumeFlow(flow.id)}>
            Resume
          </button>
        ) : null}
        <button type="button" className="sl-danger-quiet" disabled={busy} onClick={() => store.getState().deleteFlow(flow.id)}>
          Delete flow
        </button>
      </td>
    </tr>
  );
}

/** The first screen: every flow and draft on the runtime, how each stands, and what needs a person. */
export function FlowList() {
  const store = useFlowStoreApi();
  const overview = useFlowStore((state) => state.overview);
  const error = useFlowStore((state) => state.overviewError);
  return (
    <div className="sl-app">
      <header className="sl-toolbar">
        <div className="sl-toolbar__flow">
          <span className="sl-brand">Syncline</span>
          <h1 className="sl-title">Flows</h1>
        </div>
        <div role="group" aria-label="File">
          <button type="button" className="sl-primary" onClick={() => store.getState().openDialog('templates')}>
            New flow
          </button>
          <button type="button" onClick={() => store.getState().openDialog('import')}>
            Import
          </button>
        </div>
        <div role="group" aria-label="Runtime" className="sl-toolbar__runtime">
          <button type="button" onClick={() => store.getState().openDialog('credentials')}>
            Credentials
          </button>
        </div>
      </header>
      <NoticeBar />
      <main className="sl-flows">
        {error ? (
          <p className="sl-error" role="alert">
            Could not list the flows: {error} You can still build one: New flow.
          </p>
        ) : null}
        {overview === null && !error ? <p role="status">Loading the flows…</p> : null}
        {overview && overview.length === 0 ? <p>No flows yet. Start one with New flow, or import a flow file.</p> : null}
        {overview && overview.length > 0 ? (
          <table className="sl-table sl-flowtable" aria-label="Flows">
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">State</th>
                <th scope="col">Last pass</th>
                <th scope="col">In sync</th>
                <th scope="col">Changes, last hour</th>
                <th scope="col">Needs attention</th>
                <th scope="col">
                  <span className="sl-visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {overview.map((flow) => (
                <FlowRow key={flow.id} flow={flow} />
              ))}
            </tbody>
          </table>
        ) : null}
      </main>
    </div>
  );
}
