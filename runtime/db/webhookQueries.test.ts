import { describe, expect, it } from 'vitest';
import { stateDatabases } from '../../test/support/stateDatabases';
import { flowsWithPendingEvents, markEventsProcessed, pendingEvents, pruneWebhookHistory, storeDeliveries } from './webhookQueries';

describe.each(stateDatabases)('the webhook inbox on $name', ({ openInbox }) => {
  it('stores deliveries, skips a repeated delivery id, and hands out pending events in arrival order until marked', async () => {
    const inbox = await openInbox();
    const at = '2026-11-01T00:00:00.000Z';
    const stored = await storeDeliveries(
      inbox,
      [
        { flowId: 'f', nodeId: 'a', deliveryId: 'd1', events: [{ recordId: '2', type: 'upsert' }, { recordId: '1', type: 'delete' }] },
        { flowId: 'f', nodeId: 'a', deliveryId: 'd1', events: [{ recordId: '3', type: 'upsert' }] },
        { flowId: 'g', nodeId: 'a', deliveryId: null, events: [{ recordId: '9', type: 'upsert' }] },
      ],
      at,
    );
    expect(stored).toEqual([true, false, true]);
    expect(await storeDeliveries(inbox, [{ flowId: 'f', nodeId: 'a', deliveryId: 'd1', events: [] }], at)).toEqual([false]);
    expect((await flowsWithPendingEvents(inbox)).sort()).toEqual(['f', 'g']);
    const pending = await pendingEvents(inbox, 'f', 10);
    expect(pending.map((event) => [event.record_id, event.type, typeof event.id])).toEqual([
      ['2', 'upsert', 'number'],
      ['1', 'delete', 'number'],
    ]);
    expect(await pendingEvents(inbox, 'f', 10, pending[0]!.id!)).toHaveLength(1);
    await markEventsProcessed(inbox, 'f', { afterId: 0, lastId: pending[1]!.id!, exceptNodes: [] }, at);
    expect(await pendingEvents(inbox, 'f', 10)).toEqual([]);
    expect(await flowsWithPendingEvents(inbox)).toEqual(['g']);
  });

  it('leaves out the events of held triggers, and marks a batch but for them, within its own ids', async () => {
    const inbox = await openInbox();
    const at = '2026-11-01T00:00:00.000Z';
    const delivery = (nodeId: string, recordId: string) => ({ flowId: 'f', nodeId, deliveryId: null, events: [{ recordId, type: 'upsert' as const }] });
    await storeDeliveries(inbox, [delivery('a', '1'), delivery('b', '2'), delivery('a', '3'), delivery('b', '4')], at);
    const all = await pendingEvents(inbox, 'f', 10);
    expect((await pendingEvents(inbox, 'f', 10, 0, ['a'])).map((event) => event.record_id)).toEqual(['2', '4']);
    expect((await pendingEvents(inbox, 'f', 10, 0, ['a', 'b'])).map((event) => event.record_id)).toEqual([]);

    // The first two events were one batch whose pass could not read `a`: record 1 stays, record 2 is done.
    await markEventsProcessed(inbox, 'f', { afterId: 0, lastId: all[1]!.id!, exceptNodes: ['a'] }, at);
    expect((await pendingEvents(inbox, 'f', 10)).map((event) => event.record_id)).toEqual(['1', '3', '4']);
    // A later batch, read whole, marks its own events and not the held one before it.
    await markEventsProcessed(inbox, 'f', { afterId: all[1]!.id!, lastId: all[3]!.id!, exceptNodes: [] }, at);
    expect((await pendingEvents(inbox, 'f', 10)).map((event) => event.record_id)).toEqual(['1']);
  });

  it('drops old processed events and old delivery ids a chunk at a time, and keeps pending and recent ones', async () => {
    const inbox = await openInbox();
    const day = (n: number) => `2026-11-${String(n).padStart(2, '0')}T00:00:00.000Z`;
    // 25 old events (every fifth still pending), then 5 recent ones; delivery ids of both ages.
    const events = Array.from({ length: 30 }, (_, index) => {
      const old = index < 25;
      return {
        flow_id: 'f',
        node_id: 'a',
        record_id: String(index),
        type: 'upsert',
        delivery_id: `d${index}`,
        received_at: old ? day(1) : day(3),
        processed_at: old && index % 5 === 0 ? null : day(3),
      };
    });
    await inbox.insertInto('webhook_events').values(events).execute();
    await inbox
      .insertInto('webhook_deliveries')
      .values(events.map((event) => ({ flow_id: 'f', node_id: 'a', delivery_id: event.delivery_id, received_at: event.received_at })))
      .execute();

    // 20 old processed events and 25 old delivery ids, in chunks of 7.
    expect(await pruneWebhookHistory(inbox, day(2), 7)).toBe(45);
    const left = await inbox.selectFrom('webhook_events').select(['record_id']).orderBy('id').execute();
    expect(left.map((row) => row.record_id)).toEqual(['0', '5', '10', '15', '20', '25', '26', '27', '28', '29']);
    const deliveries = await inbox.selectFrom('webhook_deliveries').select('delivery_id').orderBy('delivery_id').execute();
    expect(deliveries.map((row) => row.delivery_id)).toEqual(['d25', 'd26', 'd27', 'd28', 'd29']);
    expect(await pruneWebhookHistory(inbox, day(2), 7)).toBe(0);
  });
});
