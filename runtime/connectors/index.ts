import type { LoadOptions } from '../../nodes/flow/load';
import { bambooHrConnector } from './bamboohr/index';
import { githubConnector } from './github/index';
import { httpConnector } from './http/index';
import { hubspotConnector } from './hubspot/index';
import { mailchimpConnector } from './mailchimp/index';
import { memoryConnector } from './memory/index';
import { moodleConnector } from './moodle/index';
import { postgresConnector } from './postgres/index';
import { sqliteConnector } from './sqlite/index';
import { zendeskConnector } from './zendesk/index';
import { ConnectorError, type Connector, type ConnectorContext, type ConnectorType } from './types';
import { throwIfConnectionProblems } from './connection';
import { triggerOptionProblems } from './givenKeys';

/** Every connector this Syncline has, by the name a trigger's `connector` uses. Adding one is one folder and one line. */
export const connectorRegistry = {
  sqlite: sqliteConnector,
  memory: memoryConnector,
  postgres: postgresConnector,
  http: httpConnector,
  github: githubConnector,
  zendesk: zendeskConnector,
  bamboohr: bambooHrConnector,
  hubspot: hubspotConnector,
  mailchimp: mailchimpConnector,
  moodle: moodleConnector,
} satisfies Record<string, ConnectorType>;

export type ConnectorName = keyof typeof connectorRegistry;

/** Looks up a connector type by name in a registry; undefined for a name it does not have. */
export function findConnectorType(name: string, registry: Readonly<Record<string, ConnectorType>> = connectorRegistry): ConnectorType | undefined {
  return Object.hasOwn(registry, name) ? registry[name] : undefined;
}

/** Opens the trigger's connector, with an error that lists the known connectors when it names none of them. */
export async function openConnector(
  context: ConnectorContext,
  registry: Readonly<Record<string, ConnectorType>> = connectorRegistry,
): Promise<Connector> {
  const name = context.config.connector;
  const type = findConnectorType(name, registry);
  if (type === undefined) {
    throw new ConnectorError(`unknown connector "${name}"; known connectors: ${Object.keys(registry).join(', ')}`);
  }
  const problems = type.checkConnection(context.config.connection);
  throwIfConnectionProblems(problems);
  return type.open(context);
}

/** What flow loading needs from a registry to check each trigger's connector, connection and connector-bound options (SPEC §4). */
export function loadOptionsFor(
  registry: Readonly<Record<string, ConnectorType>> = connectorRegistry,
): Required<Pick<LoadOptions, 'checkConnection' | 'knownConnectors' | 'checkTriggerOptions'>> {
  return {
    knownConnectors: Object.keys(registry),
    checkConnection: (connector, connection) => findConnectorType(connector, registry)?.checkConnection(connection) ?? null,
    checkTriggerOptions: (config) => triggerOptionProblems(config, registry),
  };
}
