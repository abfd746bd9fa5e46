import { describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../nodes/trigger/schema';
import { webhookSettingsSchema } from '../connectors/http/config';
import { signWebhookBody } from '../connectors/http/webhook';
import { parseEvents } from './events';
import { webhookScheme, type WebhookDetect } from './scheme';
import { signBody, verifySignature } from './signature';
import { mergeHints } from './worker';

describe('webhook signatures', () => {
  it('accepts the HMAC of the raw body and nothing else', () => {
    const body = Buffer.from('{"type":"upsert","id":"1"}');
    const header = signBody('secret', body);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('secret', body, header)).toBe(true);
    expect(verifySignature('secret', body, header.toUpperCase().replace('SHA256', 'sha256'))).toBe(true);
    expect(verifySignature('other', body, header)).toBe(false);
    expect(verifySignature('secret', Buffer.from('{}'), header)).toBe(false);
    expect(verifySignature('secret', body, undefined)).toBe(false);
    expect(verifySignature('secret', body, 'sha256=abc')).toBe(false);
  });
});

describe('webhook events', () => {
  it('reads one event or an array in the SPEC shape', () => {
    expect(parseEvents('{"type":"upsert","id":"1"}', {})).toEqual({ ok: true, events: [{ recordId: '1', type: 'upsert' }] });
    expect(parseEvents('[{"type":"delete","id":2}]', {})).toEqual({ ok: true, events: [{ recordId: '2', type: 'delete' }] });
    expect(parseEvents('[]', {})).toEqual({ ok: true, events: [] });
  });

  it('says where a malformed event is wrong', () => {
    expect(parseEvents('nope', {})).toMatchObject({ ok: false, message: expect.stringMatching(/not JSON/) });
    expect(parseEvents('[{"type":"upsert","id":"1"},{"type":"upsert"}]', {})).toMatchObject({ ok: false, path: '[1].id' });
    expect(parseEvents('{"type":"created","id":"1"}', {})).toMatchObject({ ok: false, path: 'type' });
    expect(parseEvents('{"type":"upsert","id":true}', {})).toMatchObject({ ok: false, path: 'id' });
    expect(parseEvents('null', {})).toMatchObject({ ok: false });
  });

  it('reads a configured shape', () => {
    const shape = { idPath: 'data.record.id', typePath: 'event' };
    expect(parseEvents('{"event":"contact.deleted","data":{"record":{"id":9}}}', shape)).toEqual({ ok: true, events: [{ recordId: '9', type: 'delete' }] });
    expect(parseEvents('{"event":"contact.changed","data":{"record":{"id":"x"}}}', shape)).toEqual({ ok: true, events: [{ recordId: 'x', type: 'upsert' }] });
  });
});

describe('webhookScheme', () => {
  const trigger = (connector: string, connection: Record<string, unknown>, detect: Record<string, unknown> = {}) => {
    const config = triggerConfigSchema.parse({ connector, connection, collection: 'people', key: 'id', detect: { mode: 'webhook', secret: { credential: 's' }, ...detect } });
    return { config, detect: config.detect as WebhookDetect };
  };
  const body = Buffer.from('{"event":"x","data":{"id":1}}');

  it('is SPEC §10’s for every connector but http', () => {
    const { config, detect } = trigger('sqlite', { file: 'a.db' }, { idPath: 'data.id' });
    const scheme = webhookScheme(config, detect);
    expect(scheme.signatureHeader).toBe('X-Syncline-Signature');
    expect(scheme.verify('k', body, signBody('k', body))).toBe(true);
    expect(scheme.shape).toEqual({ idPath: 'data.id', typePath: undefined });
    expect(webhookScheme(config, detect)).toBe(scheme);
  });

  it('is the http connection’s configured scheme, with the trigger’s own paths winning', () => {
    const webhook = { signature: { header: 'X-Hub-Signature', algorithm: 'sha1', prefix: 'sha1=' }, idPath: 'data.id', typePath: 'event' };
    const { config, detect } = trigger('http', { baseUrl: 'https://api.example.com', webhook });
    const scheme = webhookScheme(config, detect);
    expect(scheme.signatureHeader).toBe('X-Hub-Signature');
    expect(scheme.verify('k', body, signWebhookBody(webhookSettingsSchema.parse(webhook), 'k', body))).toBe(true);
    expect(scheme.verify('k', body, signBody('k', body))).toBe(false);
    expect(scheme.expected).toMatch(/^X-Hub-Signature must be sha1=<hex HMAC-SHA1/);
    expect(scheme.shape).toEqual({ idPath: 'data.id', typePath: 'event' });
    const own = trigger('http', { baseUrl: 'https://api.example.com', webhook }, { idPath: 'record.key' });
    expect(webhookScheme(own.config, own.detect).shape).toEqual({ idPath: 'record.key', typePath: 'event' });
  });
});

describe('mergeHints', () => {
  it('keeps one hint per record, with the type of its latest event, in the order of the latest events', () => {
    const events = [
      { node_id: 'a', record_id: '1', type: 'upsert' },
      { node_id: 'a', record_id: '2', type: 'upsert' },
      { node_id: 'a', record_id: '1', type: 'delete' },
      { node_id: 'b', record_id: '1', type: 'upsert' },
      { node_id: 'a', record_id: '2', type: 'delete' },
      { node_id: 'a', record_id: '2', type: 'upsert' },
    ];
    expect(mergeHints(events)).toEqual([
      { nodeId: 'a', recordId: '1', type: 'delete' },
      { nodeId: 'b', recordId: '1', type: 'upsert' },
      { nodeId: 'a', recordId: '2', type: 'upsert' },
    ]);
  });
});
