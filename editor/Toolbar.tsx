import { useReactFlow } from '@xyflow/react';
import { layeredPositions } from './canvas/autoLayout';
import { useFlowStore, useFlowStoreApi, useHistory } from './store/context';

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

/** The top bar: new, open, import and export; undo and redo; layout; and the runtime's deploy, run and debug views. */
export function Toolbar() {
  const store = useFlowStoreApi();
  const { fitView } = useReactFlow();
  const canUndo = useHistory((state) => state.pastStates.length > 0);
  const canRedo = useHistory((state) => state.futureStates.length > 0);
  const busy = useFlowStore((state) => state.busy);
  const drawer = useFlowStore((state) => state.drawer);
  const deployed = useFlowStore((state) => state.deployed);
  const reachable = useFlowStore((state) => state.server.reachable);

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
      <strong className="sl-brand">Syncline</strong>
      <div role="group" aria-label="File">
        <button type="button" onClick={() => store.getState().openDialog('templates')}>
          New
        </button>
        <button type="button" onClick={() => store.getState().openDialog('open')}>
          Open
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
        {deployed ? <span className="sl-deployed">deployed</span> : null}
        <button type="button" className="sl-primary" disabled={busy !== null} onClick={() => void store.getState().deploy()}>
          Deploy
        </button>
        <button type="button" disabled={busy !== null} onClick={() => void store.getState().runNow()}>
          Run now
        </button>
        <button type="button" disabled={busy !== null} onClick={() => void store.getState().runDry()}>
          Dry run
        </button>
        <button type="button" aria-pressed={drawer === 'runs'} onClick={() => toggle('runs')}>
          Runs
        </button>
        <button type="button" aria-pressed={drawer === 'conflicts'} onClick={() => toggle('conflicts')}>
          Conflicts
        </button>
        <button type="button" onClick={() => store.getState().openDialog('credentials')}>
          Credentials
        </button>
      </div>
    </header>
  );
}
