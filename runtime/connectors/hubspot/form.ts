/**
 * The `hubspot` connection as a person fills it in (docs/connectors/hubspot.md, Options), beside config.ts's schema:
 * the credential, then the properties to sync, ticked from the account's own (HubSpot's properties API, listed by
 * the connector's `connectionOptions`) and written as a list; a flow that names them as text separated by commas
 * shows them ticked all the same.
 */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const hubspotConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'auth.credential',
      label: 'HubSpot credential',
      kind: 'credential',
      credentialKinds: ['token', 'oauth2'],
      required: true,
      help: 'A private-app access token (Settings › Integrations › Private apps), or an OAuth2 credential connected to your HubSpot app.',
    },
    {
      key: 'properties',
      label: 'Properties to sync',
      kind: 'lookup',
      multiple: true,
      dependsOn: ['auth.credential', 'baseUrl'],
      placeholder: 'email, firstname, lifecyclestage',
      help: 'Tick the properties to sync, or add them by internal name; a flow reads each as properties.<name>. None: email, firstname, lastname for contacts; name, domain for companies.',
    },
    {
      key: 'baseUrl',
      label: 'API address',
      kind: 'text',
      placeholder: 'https://api.hubapi.com',
      advanced: true,
      help: 'Only when a proxy stands in front of HubSpot’s API.',
    },
    {
      key: 'maxWaitSeconds',
      label: 'Longest rate-limit wait within a pass (s)',
      kind: 'number',
      default: 60,
      min: 0,
      max: 3600,
      advanced: true,
      help: 'HubSpot’s ten-second limit is waited out; the daily limit stops the pass cleanly, and the next pass after midnight goes on.',
    },
  ],
};
