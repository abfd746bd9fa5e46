import type { DraftBackup } from './types';

const PREFIX = 'syncline.unsaved.';

/** Keeps unsaved flow documents in `storage` (the browser's localStorage) by flow id. */
export function localDraftBackup(storage: Storage): DraftBackup {
  return {
    read: (flowId) => storage.getItem(PREFIX + flowId),
    write: (flowId, document) => {
      try {
        storage.setItem(PREFIX + flowId, document);
      } catch {
        // A full storage cannot keep it; the editor still shows the draft as not saved, and asks before leaving it.
      }
    },
    remove: (flowId) => storage.removeItem(PREFIX + flowId),
  };
}

/** A backup in memory, for tests and pages without storage. */
export function memoryDraftBackup(): DraftBackup & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    read: (flowId) => entries.get(flowId) ?? null,
    write: (flowId, document) => void entries.set(flowId, document),
    remove: (flowId) => void entries.delete(flowId),
  };
}
