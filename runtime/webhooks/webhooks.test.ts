import { describe, expect, it } from 'vitest';
import { parseEvents } from './events';
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
