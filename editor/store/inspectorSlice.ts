import type { InspectorSliceActions, InspectorSliceState, SliceContext } from './types';

/** The inspector slice: one linked record of the open flow, explained field by field (the record inspector). */
export function createInspectorSlice({ set, get, deps }: SliceContext): InspectorSliceState & InspectorSliceActions {
  const { api } = deps;

  /** Reads the inspected record; an answer about a record no longer inspected is dropped. */
  async function load(flowId: string, entityId: string): Promise<void> {
    const current = () => {
      const inspected = get().inspected;
      return inspected?.flowId === flowId && inspected.entityId === entityId ? inspected : null;
    };
    try {
      const view = await api.inspectEntity(flowId, entityId);
      const inspected = current();
      if (inspected) set({ inspected: { ...inspected, view, error: null } });
    } catch (error) {
      const inspected = current();
      if (inspected) set({ inspected: { ...inspected, error: error instanceof Error ? error.message : String(error) } });
    }
  }

  return {
    inspected: null,

    inspectRecord: async (entityId, from) => {
      const flowId = get().savedId;
      if (!flowId) return;
      set({ inspected: { flowId, entityId, from, view: null, error: null }, drawer: 'record' });
      await load(flowId, entityId);
    },

    reloadInspection: async () => {
      const inspected = get().inspected;
      if (inspected) await load(inspected.flowId, inspected.entityId);
    },

    closeInspection: () => {
      const from = get().inspected?.from ?? null;
      set({ inspected: null, drawer: from === 'record' ? null : from });
    },

    resolveInspected: async (conflictId, resolution) => {
      await get().resolveConflict(conflictId, resolution);
      await get().reloadInspection();
    },
  };
}
