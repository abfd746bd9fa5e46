import type { FormEnvironment } from '../../nodes/forms/types';
import type { ConnectionForm, ConnectorSummary } from '../../nodes/trigger/connectionForm';
import { githubConnectionForm } from '../../runtime/connectors/github/form';
import { httpConnectionForm } from '../../runtime/connectors/http/form';
import { postgresConnectionForm } from '../../runtime/connectors/postgres/form';
import { sqliteConnectionForm } from '../../runtime/connectors/sqlite/form';
import { zendeskConnectionForm } from '../../runtime/connectors/zendesk/form';
import { createApiClient, storedToken } from '../api/client';

/**
 * The connection forms of the connectors Syncline ships, for an editor that cannot ask a runtime (opened from files,
 * or the runtime stopped): the same descriptors `GET /api/connectors` serves, which are plain data beside each
 * connector's schema.
 */
export const builtInConnectionForms: Readonly<Record<string, ConnectionForm>> = {
  sqlite: sqliteConnectionForm,
  postgres: postgresConnectionForm,
  http: httpConnectionForm,
  github: githubConnectionForm,
  zendesk: zendeskConnectionForm,
};

/** Each connector with its connection form: the runtime's, else the built-in one of the same name. */
export function withConnectionForms(connectors: readonly ConnectorSummary[]): ConnectorSummary[] {
  return connectors.map((entry) => {
    const builtIn = Object.hasOwn(builtInConnectionForms, entry.type) ? builtInConnectionForms[entry.type] : undefined;
    return entry.connectionForm || !builtIn ? entry : { ...entry, connectionForm: builtIn };
  });
}

// The runtime that served the editor, with the token the editor keeps (main.tsx adopts it from the address first).
const runtime = createApiClient(() => storedToken(localStorage));
const askRuntime: NonNullable<FormEnvironment['connectionOptions']> = (connector, connection, field) => runtime.connectionOptions(connector, connection, field);

/**
 * What connection forms need in a node form's environment: every connector's form (built-in ones when the runtime
 * does not list them) and a way to ask the runtime for lookup choices.
 */
export function connectorEnvironment(
  connectors: readonly ConnectorSummary[],
  credentials: FormEnvironment['credentials'],
): Pick<FormEnvironment, 'connectors' | 'connectionOptions'> {
  return {
    connectors: withConnectionForms(connectors),
    // Credentials are listed once the runtime has answered; before that, or without one, there is nobody to ask.
    connectionOptions: credentials !== null ? askRuntime : undefined,
  };
}
