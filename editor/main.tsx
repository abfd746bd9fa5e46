import '@xyflow/react/dist/style.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { serializeFlow } from '../nodes/flow/jsonText';
import { loadFlow } from '../nodes/flow/load';
import { adoptToken, createApiClient, storedToken } from './api/client';
import { App } from './App';
import { createFlowStore } from './store/createFlowStore';
import { localDraftBackup } from './store/draftBackup';
import type { StoreDeps } from './store/types';
import { followAddress } from './store/address';

adoptToken(window.location, localStorage, window.history);

const migrate = (document: unknown) => loadFlow(document).migrated;

const deps: StoreDeps = {
  api: createApiClient(() => storedToken(localStorage)),
  validate: (document, knownConnectors) => loadFlow(document, knownConnectors ? { knownConnectors } : {}).issues,
  migrate,
  // What the runtime stores is the canonical form of the migrated document, so export writes exactly that.
  serialize: (document) => serializeFlow(migrate(document)),
  backup: localDraftBackup(localStorage),
};

const store = createFlowStore(undefined, deps);
void store.getState().probeServer();
followAddress(store, window);
// A reload or a closed tab between an edit and its save: the browser keeps the edit for the next visit.
window.addEventListener('pagehide', () => store.getState().keepUnsavedLocally());

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
