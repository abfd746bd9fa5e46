import type { FlowStoreApi } from './types';

/** The address of what the store shows: the flow list at `?`, a flow at `?flow=<id>`. */
function addressOf(store: FlowStoreApi, current: URL): string {
  const url = new URL(current.href);
  const { screen, meta } = store.getState();
  if (screen === 'canvas') url.searchParams.set('flow', meta.id);
  else url.searchParams.delete('flow');
  return url.toString();
}

/**
 * Keeps the address bar and the open flow in step: a reload opens the same flow (its last draft), Back returns to the
 * flow list, and an address with `?flow=<id>` opens that flow.
 */
export function followAddress(store: FlowStoreApi, window: Window): void {
  const open = () => {
    const flowId = new URL(window.location.href).searchParams.get('flow');
    return flowId ? store.getState().openFlow(flowId) : store.getState().showFlows();
  };
  const follow = () => {
    const next = addressOf(store, new URL(window.location.href));
    if (next !== window.location.href) window.history.replaceState(null, '', next);
  };
  store.subscribe((state, previous) => {
    if (state.screen === previous.screen && (state.screen !== 'canvas' || state.meta.id === previous.meta.id)) return;
    const next = addressOf(store, new URL(window.location.href));
    if (next === window.location.href) return;
    // A new screen is a step Back can return from; a renamed flow only corrects the address.
    if (state.screen !== previous.screen) window.history.pushState(null, '', next);
    else window.history.replaceState(null, '', next);
  });
  // After a step Back the person may have chosen to stay (edits not saved): the address then follows the store again.
  window.addEventListener('popstate', () => void open().then(follow));
  void open().then(follow);
}
