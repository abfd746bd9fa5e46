import { ApiError } from '../api/client';
import type { CredentialProblem, CredentialsSliceActions, SliceContext } from './types';

/** A failed call as the credentials panel shows it: the runtime's words, and the field it names. */
function problemOf(error: unknown): CredentialProblem {
  if (error instanceof ApiError) return { message: error.message, path: error.path || null };
  return { message: error instanceof Error ? error.message : String(error), path: null };
}

/**
 * The credentials slice: the runtime's stored credentials (kept in `server.credentials`, where trigger forms pick
 * them), added, removed and connected by OAuth2 consent. Values go to the runtime and never come back.
 */
export function createCredentialsSlice({ set, get, deps }: SliceContext): CredentialsSliceActions {
  const { api } = deps;
  return {
    loadCredentials: async () => {
      try {
        const credentials = await api.credentials();
        set({ server: { ...get().server, reachable: true, credentials } });
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) get().openDialog('token');
      }
    },

    addCredential: async (name, type, value) => {
      try {
        await api.createCredential(name, type, value);
      } catch (error) {
        return problemOf(error);
      }
      await get().loadCredentials();
      get().notify('info', `Stored the credential "${name}". Pick it in a trigger's settings.`);
      return null;
    },

    removeCredential: async (name) => {
      try {
        await api.deleteCredential(name);
      } catch (error) {
        get().notify('error', problemOf(error).message);
        return;
      }
      await get().loadCredentials();
    },

    startOAuth: async (name, settings) => {
      try {
        return await api.startOAuth(name, settings);
      } catch (error) {
        return problemOf(error);
      }
    },
  };
}
