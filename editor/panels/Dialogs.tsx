import { useEffect, useRef, useState, type ReactNode } from 'react';
import { parseFlowText } from '../../nodes/flow/jsonText';
import { storedToken, storeToken } from '../api/client';
import { documentFromCanvas, emptyFlow } from '../document/canvasDocument';
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
    state.openDialog(null);
    void state.startFlow(parsed.value, 'import').then(() => {
      // Asked first (edits not saved, or the id taken) and the person chose to stay: nothing was imported.
      if (store.getState().screen !== 'canvas' || store.getState().confirm !== null) return;
      // The issues the Issues panel lists: of the flow as the canvas shows it, not of the file as it was read.
      const problems = store.getState().validateNow().length;
      if (problems === 0) {
        store.getState().notify('info', `Imported ${origin}.`);
      } else {
        store.getState().notify('info', `Imported ${origin} with ${problems} issue${problems === 1 ? '' : 's'}: they are listed under Issues and on the nodes they concern.`);
        store.getState().openDrawer('issues');
      }
    });
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
    state.openDialog(null);
    void state.startFlow(document ?? documentFromCanvas(emptyFlow()), 'new').then(() => {
      if (store.getState().screen === 'canvas' && store.getState().confirm === null) {
        store.getState().notify('info', `Started “${title}”. Point each trigger at your own systems in its settings.`);
      }
    });
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

/** Asks for the runtime's token once, when the page was opened without it. */
export function TokenDialog() {
  const store = useFlowStoreApi();
  const [token, setToken] = useState('');
  // A token kept from the address or an earlier visit that the runtime turned away: say so, not "connect".
  const refused = storedToken(localStorage) !== null;
  return (
    <Modal title={refused ? 'This token was refused' : 'Connect to the runtime'} onClose={() => store.getState().openDialog(null)}>
      {refused ? (
        <p role="alert">
          This token was refused by the runtime. It may come from another data folder, or the runtime&apos;s token changed. Paste the token `syncline serve` printed
          (the end of its address, after ?token=).
        </p>
      ) : (
        <p>The runtime needs its access token. `syncline serve` printed an address with ?token=…; paste the token here.</p>
      )}
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
          void store.getState().loadOverview();
        }}
      >
        Save token
      </button>
    </Modal>
  );
}

/** A question before something that cannot be taken back: each choice a button, and a way out that changes nothing. */
export function ConfirmDialog() {
  const store = useFlowStoreApi();
  const confirm = useFlowStore((state) => state.confirm);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // The safe answer takes the focus, so Enter never deletes or discards by accident.
    ref.current?.querySelector<HTMLElement>('[data-cancel]')?.focus();
  }, [confirm]);
  if (!confirm) return null;
  const close = () => store.getState().closeConfirm();
  return (
    <div className="sl-backdrop" onMouseDown={(event) => event.target === event.currentTarget && close()}>
      <div
        ref={ref}
        className="sl-dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        aria-describedby="confirm-message"
        onKeyDown={(event) => {
          if (event.key === 'Escape') close();
        }}
      >
        <h2 id="confirm-title">{confirm.title}</h2>
        <p id="confirm-message">{confirm.message}</p>
        <div className="sl-dialog__actions">
          <button type="button" data-cancel onClick={close}>
            {confirm.cancelLabel}
          </button>
          {confirm.choices.map((choice) => (
            <button
              key={choice.label}
              type="button"
              className={choice.tone === 'danger' ? 'sl-danger-solid' : choice.tone === 'primary' ? 'sl-primary' : undefined}
              onClick={() => {
                close();
                choice.run();
              }}
            >
              {choice.label}
            </button>
          ))}
        </div>
      </div>
    </div>
  );
}
