/**
 * Webhook mode for APIs that push events: how their signature is made and where the record id sits in an event
 * (`connection.webhook`). The hooks route checks a delivery with {@link httpWebhook}; the secret itself stays a stored
 * credential named by the trigger's `detect.secret`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { httpConnectionSchema, webhookSettingsSchema, type WebhookSettings } from './config';

export interface HttpWebhook {
  /** The request header that carries the signature. */
  signatureHeader: string;
  /** True when `header` is the configured HMAC of the raw body with the secret; constant-time. */
  verify(secret: string, body: Uint8Array | string, header: string | undefined | null): boolean;
  /** Where the id and type sit in one event, in the shape the hooks route's event parser takes. */
  shape: { idPath: string; typePath?: string };
  /** What the signature header must hold, for the message that refuses a delivery. */
  expected: string;
}

/** The default scheme: SPEC §10's `X-Syncline-Signature: sha256=<hex>`, id at `id`. */
export const defaultWebhookSettings: WebhookSettings = webhookSettingsSchema.parse({});

/** The webhook settings of an `http` connection, or the SPEC §10 defaults when it configures none. */
export function httpWebhook(connection: Record<string, unknown>): HttpWebhook {
  const parsed = httpConnectionSchema.shape.webhook.safeParse(connection.webhook);
  const settings = (parsed.success ? parsed.data : undefined) ?? defaultWebhookSettings;
  return {
    signatureHeader: settings.signature.header,
    verify: (secret, body, header) => verifyWebhookSignature(settings, secret, body, header),
    shape: settings.typePath ? { idPath: settings.idPath, typePath: settings.typePath } : { idPath: settings.idPath },
    expected: describeSignature(settings),
  };
}

/** `X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the raw body with the trigger's secret>`. */
function describeSignature(settings: WebhookSettings): string {
  const { header, prefix, encoding, algorithm } = settings.signature;
  return `${header} must be ${prefix}<${encoding} HMAC-${algorithm.toUpperCase()} of the raw body with the trigger's secret>`;
}

/** The signature header value a sender using these settings would send. */
export function signWebhookBody(settings: WebhookSettings, secret: string, body: Uint8Array | string): string {
  const digest = createHmac(settings.signature.algorithm, secret).update(body).digest(settings.signature.encoding);
  return `${settings.signature.prefix}${digest}`;
}

function verifyWebhookSignature(settings: WebhookSettings, secret: string, body: Uint8Array | string, header: string | undefined | null): boolean {
  if (!header) return false;
  const value = header.trim();
  const { prefix, encoding, algorithm } = settings.signature;
  // Senders differ in the case of a hex digest and of a prefix like "sha256="; neither carries meaning.
  if (value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return false;
  const given = value.slice(prefix.length);
  const pattern = encoding === 'hex' ? /^[0-9a-fA-F]+$/ : /^[A-Za-z0-9+/]+={0,2}$/;
  if (!pattern.test(given)) return false;
  const expected = createHmac(algorithm, secret).update(body).digest();
  const received = Buffer.from(given, encoding);
  return received.length === expected.length && timingSafeEqual(received, expected);
}
