import { useEffect, useRef, useState, type ReactNode } from 'react';
import { loadFlow, parseFlowText } from '../../nodes/document';
import { storeToken } from '../api/client';
import { emptyFlow } from '../document/canvasDocument';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { flowTemplates } from '../templates';

/** A modal dialog: focus moves into it, Escape closes it. */
export function Modal({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('input, textarea, button')?.focus();
  }, []);
  return (
    <div className="sl-backdrop" onMouseDown={(event) => event.target === event.currentTarget && onClose()}>
      <div
        ref={ref}
        className="sl-dialog"
        role="dialog"
        aria-modal="true"
        aria-label={title}
        onKeyDown={(event) => {
          if (event.key === 'Escape') onClose();
        }}
      >
        <h2>{title}</h2>
        {children}
        <div className="sl-dialog__actions">
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}

/** Opens a flow from a .json file or pasted JSON. */
export function ImportDialog() {
  const store = useFlowStoreApi();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const close = () => store.getState().openDialog(null);

  const importText = (source: string, origin: string) => {
    const parsed = parseFlowText(source);
    if (!parsed.ok) {
      setError(`${origin} is not JSON: line ${parsed.line}, column ${parsed.column}: ${parsed.message}`);
      return;
    }
    const state = store.getState();
    state.importDocument(parsed.value);
    state.openDialog(null);
    const problems = loadFlow(parsed.value).issues.length;
    if (problems === 0) {
      state.notify('info', `Imported ${origin}.`);
    } else {
      state.notify('info', `Imported ${origin} with ${problems} issue${problems === 1 ? '' : 's'}: they are listed under Issues and on the nodes they concern.`);
      state.openDrawer('issues');
    }
  };

  return (
    <Modal title="Import a flow" onClose={close}>
      <div className="sl-field">
        <label htmlFor="import-file">Open a .json file</label>
        <input
          id="import-file"
          type="file"
          accept=".json,application/json"
          onChange={async (event) => {
            const file = event.target.files?.[0];
            if (file) importText(await file.text(), file.name);
          }}
        />
      </div>
      <div className="sl-field">
        <label htmlFor="import-text">Or paste the flow's JSON</label>
        <textarea id="import-text" rows={10} value={text} spellCheck={false} onChange={(event) => setText(event.target.value)} />
      </div>
      {error ? (
        <p className="sl-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="button" disabled={text.trim() === ''} onClick={() => importText(text, 'the pasted text')}>
        Import pasted JSON
      </button>
    </Modal>
  );
}

/** Starts a new flow: empty, or from one of the use-case templates. */
export function TemplatesDialog() {
  const store = useFlowStoreApi();
  const close = () => store.getState().openDialog(null);
  const start = (document: unknown | null, title: string) => {
    const state = store.getState();
    if (document === null) state.replaceFlow(emptyFlow());
    else state.importDocument(structuredClone(document));
    state.openDialog(null);
    state.notify('info', `Started “${title}”. Point each trigger at your own systems in its settings.`);
  };
  return (
    <Modal title="New flow" onClose={close}>
      <ul className="sl-templates">
        <li>
          <button type="button" onClick={() => start(null, 'an empty flow')}>
            Empty flow
          </button>
          <span className="sl-muted">Start from a blank canvas.</span>
        </li>
        {flowTemplates.map((template) => (
          <li key={template.key}>
            <button type="button" onClick={() => start(template.document, template.title)}>
              {template.title}
            </button>
            <span className="sl-muted">{template.description}</span>
          </li>
        ))}
      </ul>
    </Modal>
  );
}

/** Opens one of the flows the runtime holds. */
export function OpenDialog() {
  const store = useFlowStoreApi();
  const flows = useFlowStore((state) => state.serverFlows);
  const error = useFlowStore((state) => state.apiError);
  useEffect(() => {
    void store.getState().listServerFlows();
  }, [store]);
  return (
    <Modal title="Open a flow from the runtime" onClose={() => store.getState().openDialog(null)}>
      {error ? (
        <p className="sl-error" role="alert">
          {error}
        </p>
      ) : null}
      {flows === null && !error ? <p role="status">Loading…</p> : null}
      {flows && flows.length === 0 ? <p>The runtime holds no flows yet: deploy one.</p> : null}
      <ul className="sl-templates">
        {flows?.map((flow) => (
          <li key={flow.id}>
            <button type="button" onClick={() => void store.getState().openServerFlow(flow.id)}>
              {flow.name || flow.id}
            </button>
            <span className="sl-muted">
              {flow.id} · {flow.deployed ? 'deployed' : 'not deployed'}
            </span>
          </li>
        ))}
      </ul>
    </Modal>
  );
}

/** Asks for the runtime's token once, when the page was opened without it. */
export function TokenDialog() {
  const store = useFlowStoreApi();
  const [token, setToken] = useState('');
  return (
    <Modal title="Connect to the runtime" onClose={() => store.getState().openDialog(null)}>
      <p>The runtime needs its access token. `syncline serve` printed an address with ?token=…; paste the token here.</p>
      <div className="sl-field">
        <label htmlFor="token">Access token</label>
        <input id="token" value={token} onChange={(event) => setToken(event.target.value)} autoComplete="off" />
      </div>
      <button
        type="button"
        disabled={token.trim() === ''}
        onClick={() => {
          storeToken(localStorage, token.trim());
          store.getState().openDialog(null);
          void store.getState().probeServer();
        }}
      >
        Save token
      </button>
    </Modal>
  );
}
