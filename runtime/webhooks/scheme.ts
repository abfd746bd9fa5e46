import type { TriggerConfig } from '../../nodes/trigger/schema';
import { httpWebhook } from '../connectors/http/webhook';
import type { EventShape } from './events';
import { verifySignature } from './signature';

/** How one trigger's webhook deliveries are signed and where the id and type sit in an event. */
export interface WebhookScheme {
  /** The request header carrying the signature. */
  signatureHeader: string;
  /** True when `header` is the right signature of the raw body under `secret`; constant-time. */
  verify(secret: string, body: Uint8Array, header: string | undefined): boolean;
  /** What the header must hold, for the 401 that refuses a delivery. */
  expected: string;
  shape: EventShape;
}

export type WebhookDetect = Extract<TriggerConfig['detect'], { mode: 'webhook' }>;

/** SPEC §10's scheme: `X-Syncline-Signature: sha256=<hex HMAC-SHA256>`. */
function defaultScheme(detect: WebhookDetect): WebhookScheme {
  return {
    signatureHeader: 'X-Syncline-Signature',
    verify: verifySignature,
    expected: 'X-Syncline-Signature must be sha256=<hex HMAC-SHA256 of the raw body with the trigger secret>',
    shape: { idPath: detect.idPath, typePath: detect.typePath },
  };
}

/**
 * Connectors whose connection can say how their system signs webhooks. A trigger's own `detect.idPath` and
 * `detect.typePath`, when given, still win over the connection's: they are the more specific setting.
 */
const connectorSchemes: Readonly<Record<string, (config: TriggerConfig, detect: WebhookDetect) => WebhookScheme>> = {
  http: (config, detect) => {
    const webhook = httpWebhook(config.connection);
    return {
      signatureHeader: webhook.signatureHeader,
      verify: webhook.verify,
      expected: webhook.expected,
      shape: { idPath: detect.idPath ?? webhook.shape.idPath, typePath: detect.typePath ?? webhook.shape.typePath },
    };
  },
};

// Trigger configs are replaced, never mutated, when a flow changes: the scheme is worked out once per config.
const schemes = new WeakMap<TriggerConfig, WebhookScheme>();

/** The scheme a webhook trigger's deliveries are checked and read with: its connector's, or SPEC §10's. `detect` is `config.detect`, narrowed. */
export function webhookScheme(config: TriggerConfig, detect: WebhookDetect): WebhookScheme {
  let scheme = schemes.get(config);
  if (!scheme) {
    const forConnector = Object.hasOwn(connectorSchemes, config.connector) ? connectorSchemes[config.connector] : undefined;
    scheme = forConnector ? forConnector(config, detect) : defaultScheme(detect);
    schemes.set(config, scheme);
  }
  return scheme;
}
