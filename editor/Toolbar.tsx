import { useReactFlow } from '@xyflow/react';
import { layeredPositions } from './canvas/autoLayout';
import { useFlowStore, useFlowStoreApi, useHistory } from './store/context';
import { deployState } from './store/flowsSlice';

/** Words that mark a connection value as a secret, which belongs in a stored credential, never in the flow. */
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|private[-_]?key/i;

/** Where a document would carry a secret: a connection value under a secret-sounding key, or a URL with a password. */
export function findSecrets(document: Record<string, unknown>): string[] {
  const found: string[] = [];
  const nodes = Array.isArray(document.nodes) ? document.nodes : [];
  nodes.forEach((node: unknown, index) => {
    const connection = (node as { config?: { connection?: unknown } } | null)?.config?.connection;
    if (typeof connection !== 'object' || connection === null) return;
    for (const [key, value] of Object.entries(connection)) {
      if (typeof value !== 'string') continue;
      if (SECRET_KEY.test(key) || /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:[^/@]+@/i.test(value)) found.push(`nodes[${index}].config.connection.${key}`);
    }
  });
  return found;
}

/** Downloads text as a file, the way a person expects an export to arrive. */
function download(fileName: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Where the canvas stands: deployed or not, and whether the runtime holds the latest edit as the draft. */
function FlowState() {
  const label = useFlowStore((state) => deployState(state));
  const draft = useFlowStore((state) => state.draft);
  const saving = draft.status === 'pending' || draft.status === 'saving';
  const unreachable = useFlowStore((state) => state.server.reachable === false);
  const saved =
    draft.status === 'failed'
      ? `Not saved: ${unreachable ? 'runtime not reachable' : (draft.error ?? 'the runtime did not answer')}`
      : saving
        ? 'Saving draft…'
        : draft.status === 'saved'
          ? 'Draft saved'
          : '';
  return (
    <span className="sl-flowstate" role="status" aria-live="polite">
      <span className={`sl-badge-state sl-badge-state--${label.startsWith('Deployed') ? 'deployed' : label.startsWith('Paused') ? 'paused' : 'draft'}`} data-testid="deploy-state">
        {label}
      </span>
      {saved ? (
        <span className={draft.status === 'failed' ? 'sl-save sl-save--failed' : 'sl-save'} data-testid="save-state" title={draft.error ?? saved}>
          {saved}
        </span>
      ) : null}
    </span>
  );
}

/** The top bar: the flow's name and state; new, import and export; undo and redo; layout; the runtime's controls. */
export function Toolbar() {
  const store = useFlowStoreApi();
  const { fitView } = useReactFlow();
  const canUndo = useHistory((state) => state.pastStates.length > 0);
  const canRedo = useHistory((state) => state.futureStates.length > 0);
  const busy = useFlowStore((state) => state.busy);
  const drawer = useFlowStore((state) => state.drawer);
  const deployed = useFlowStore((state) => state.deployed);
  const canResume = useFlowStore((state) => state.savedId !== null && state.deployedVersion !== null && !state.deployed);
  const reachable = useFlowStore((state) => state.server.reachable);
  const name = useFlowStore((state) => state.meta.name || state.meta.id);
  const openConflicts = useFlowStore((state) => state.overview?.find((flow) => flow.id === state.savedId)?.health?.openConflicts ?? 0);

  const exportFlow = () => {
    const state = store.getState();
    const text = state.exportText();
    const secrets = findSecrets(JSON.parse(text) as Record<string, unknown>);
    if (secrets.length > 0) {
      state.notify(
        'error',
        `Not exported: ${secrets.join(', ')} look${secrets.length === 1 ? 's' : ''} like a secret. Store it as a credential on the runtime and pick that credential in the trigger's settings.`,
      );
      return;
    }
    download(`${state.meta.id || 'flow'}.flow.json`, text);
  };

  const autoLayout = async () => {
    const state = store.getState();
    try {
      state.setPositions(await layeredPositions(state.nodes, state.edges));
      requestAnimationFrame(() => void fitView({ duration: 300, maxZoom: 1 }));
    } catch (error) {
      state.notify('error', `Auto-layout failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const toggle = (target: 'runs' | 'conflicts') => store.getState().openDrawer(drawer === target ? null : target);

  return (
    <header className="sl-toolbar">
      <div className="sl-toolbar__flow">
        <button type="button" className="sl-brand" onClick={() => void store.getState().showFlows()} title="All flows">
          Syncline
        </button>
        <button type="button" onClick={() => void store.getState().showFlows()}>
          All flows
        </button>
        <h1 className="sl-title" title={name}>
          {name}
        </h1>
        <FlowState />
      </div>
      <div role="group" aria-label="File">
        <button type="button" onClick={() => store.getState().openDialog('templates')}>
          New
        </button>
        <button type="button" onClick={() => store.getState().openDialog('import')}>
          Import
        </button>
        <button type="button" onClick={exportFlow}>
          Export
        </button>
      </div>
      <div role="group" aria-label="Edit">
        <button type="button" disabled={!canUndo} onClick={() => store.temporal.getState().undo()} title="Ctrl+Z">
          Undo
        </button>
        <button type="button" disabled={!canRedo} onClick={() => store.temporal.getState().redo()} title="Ctrl+Shift+Z or Ctrl+Y">
          Redo
        </button>
        <button type="button" onClick={() => void autoLayout()}>
          Auto-layout
        </button>
      </div>
      <div role="group" aria-label="Runtime" className="sl-toolbar__runtime">
        {reachable === false ? <span className="sl-offline">runtime not reachable</span> : null}
        <button type="button" onClick={() => void store.getState().saveDraftNow()} title="Edits are saved as a draft as you make them; this saves now">
          Save draft
        </button>
        <button type="button" className="sl-primary" disabled={busy !== null} onClick={() => void store.getState().deploy()}>
          Deploy
        </button>
        {deployed ? (
          <button type="button" disabled={busy !== null} onClick={() => void store.getState().pauseFlow()}>
            Pause
          </button>
        ) : null}
        {canResume ? (
          <button type="button" disabled={busy !== null} onClick={() => void store.getState().resumeFlow()} title="Run the deployed version again">
            Resume
          </button>
        ) : null}
        <button type="button" disabled={busy !== null} onClick={() => void store.getState().runNow()}>
          Run now
        </button>
        <button type="button" disabled={busy !== null} onClick={() => void store.getState().runDry()}>
          Dry run
        </button>
        <button type="button" aria-pressed={drawer === 'runs'} onClick={() => toggle('runs')}>
          Runs
        </button>
        <button type="button" aria-pressed={drawer === 'conflicts'} onClick={() => toggle('conflicts')} aria-label={`Conflicts (${openConflicts} open)`}>
          Conflicts{openConflicts > 0 ? <span className="sl-count">{openConflicts}</span> : null}
        </button>
        <button type="button" onClick={() => store.getState().openDialog('credentials')}>
          Credentials
        </button>
      </div>
    </header>
  );
}
