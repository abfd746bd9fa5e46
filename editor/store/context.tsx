import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { TemporalState } from 'zundo';
import type { FlowStoreApi, FlowStoreState, HistoryState } from './types';

const FlowStoreContext = createContext<FlowStoreApi | null>(null);

/** Makes one flow store available to every component below. */
export function FlowStoreProvider({ store, children }: { store: FlowStoreApi; children: ReactNode }) {
  return <FlowStoreContext.Provider value={store}>{children}</FlowStoreContext.Provider>;
}

/** The store itself, for handlers that read state at the moment they run instead of subscribing. */
export function useFlowStoreApi(): FlowStoreApi {
  const store = useContext(FlowStoreContext);
  if (!store) throw new Error('useFlowStore needs a <FlowStoreProvider> above it');
  return store;
}

/** Subscribes to the part of the store `selector` picks; wrap object-returning selectors in useShallow. */
export function useFlowStore<T>(selector: (state: FlowStoreState) => T): T {
  return useStore(useFlowStoreApi(), selector);
}

/** Subscribes to the undo history. */
export function useHistory<T>(selector: (state: TemporalState<HistoryState>) => T): T {
  return useStore(useFlowStoreApi().temporal, selector);
}
