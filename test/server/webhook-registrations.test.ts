import { afterEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import type { ConnectorType, ConnectorWebhook } from '../../runtime/connectors/types';
import { pendingWebhookRemovals } from '../../runtime/db/webhookRemovalQueries';
import { deployPeople, eventually, peopleFlow, SECRET, testRuntime, TOKEN, type TestRuntime } from './support';

/** The sqlite connector, as if its system let the runtime register webhooks: what it was asked is recorded. */
function registeringRegistry(): { registry: Record<string, ConnectorType>; hooks: Map<string, string>; calls: string[] } {
  const hooks = new Map<string, string>();
  const calls: string[] = [];
  const webhook: ConnectorWebhook = {
    verify: () => null,
    deliveryId: () => null,
    read: () => ({ kind: 'ignored', reason: 'not used here' }),
    register: async (context, target) => {
      calls.push(`register ${target.url} (${context.config.collection})`);
      hooks.set(target.url, target.secret ?? '');
    },
    unregister: async (_context, url) => {
      calls.push(`unregister ${url}`);
      hooks.delete(url);
    },
  };
  return { registry: { ...connectorRegistry, sqlite: { ...connectorRegistry.sqlite, webhook } }, hooks, calls };
}

/** Deploys the people flow and waits until its webhook trigger `a` is registered; returns the hook's URL. */
async function deployRegistered(t: TestRuntime, hooks: ReadonlyMap<string, string>): Promise<string> {
  await deployPeople(t);
  const url = 'https://sync.example.com/hooks/people/a';
  await eventually(() => expect(hooks.has(url)).toBe(true));
  return url;
}

describe('webhooks registered with the system', () => {
  let t: TestRuntime | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('registers on deploy, removes on pause, registers again on deploy and removes on delete', async () => {
    const { registry, hooks, calls } = registeringRegistry();
    t = await testRuntime({ connectors: registry, publicUrl: 'https://sync.example.com/' });
    const url = await deployRegistered(t, hooks);
    expect(hooks.get(url)).toBe(SECRET);
    // Only the webhook trigger registers; the manual trigger `b` has nothing to register.
    expect(calls).toEqual([`register ${url} (people)`]);

    expect((await t.post('/api/flows/people/pause')).status).toBe(200);
    await eventually(() => expect(hooks.has(url)).toBe(false));

    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await eventually(() => expect(hooks.has(url)).toBe(true));

    expect((await t.request('/api/flows/people', { method: 'DELETE', headers: { authorization: 'Bearer test-token-0123456789' } })).status).toBeLessThan(300);
    await eventually(() => expect(hooks.has(url)).toBe(false));
    expect(calls).toEqual([`register ${url} (people)`, `unregister ${url}`, `register ${url} (people)`, `unregister ${url}`]);
  });

  it('tries a removal the system failed again, until the hook is gone', async () => {
    const { registry, hooks, calls } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    let failures = 1;
    const flaky: ConnectorWebhook = {
      ...(sqlite.webhook as ConnectorWebhook),
      unregister: async (context, url) => {
        if (failures-- > 0) {
          calls.push(`unregister ${url} failed`);
          throw new Error('502 Bad Gateway');
        }
        await (sqlite.webhook as ConnectorWebhook).unregister!(context, url);
      },
    };
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook: flaky } }, publicUrl: 'https://sync.example.com' });
    const url = await deployRegistered(t, hooks);
    expect((await t.post('/api/flows/people/pause')).status).toBe(200);
    await eventually(() => expect(hooks.has(url)).toBe(false));
    expect(calls).toEqual([`register ${url} (people)`, `unregister ${url} failed`, `unregister ${url}`]);
  });

  /** The registering sqlite connector, whose system cannot remove hooks until `reachable` is set. */
  function withOutage(): ReturnType<typeof registeringRegistry> & { reach(): void } {
    const registering = registeringRegistry();
    const sqlite = registering.registry.sqlite as ConnectorType;
    const webhook = sqlite.webhook as ConnectorWebhook;
    let reachable = false;
    const outage: ConnectorWebhook = {
      ...webhook,
      unregister: async (context, url) => {
        if (!reachable) {
          registering.calls.push(`unregister ${url} failed`);
          throw new Error('503 Service Unavailable');
        }
        await webhook.unregister!(context, url);
      },
    };
    return { ...registering, registry: { ...registering.registry, sqlite: { ...sqlite, webhook: outage } }, reach: () => (reachable = true) };
  }

  /** Stops the runtime and starts it again on the same state, as a new process would. */
  async function restart(runtime: TestRuntime): Promise<void> {
    await runtime.runtime.stop();
    await runtime.runtime.deps.catalog.load();
    await runtime.runtime.start();
  }

  it("tries a removed flow's hook removal again after a restart, and forgets it once the hook is gone", async () => {
    const { registry, hooks, calls, reach } = withOutage();
    t = await testRuntime({ connectors: registry, publicUrl: 'https://sync.example.com' });
    const url = await deployRegistered(t, hooks);
    expect((await t.request('/api/flows/people', { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBeLessThan(300);
    await eventually(() => expect(calls).toContain(`unregister ${url} failed`));
    // The flow, and its trigger's config, are gone from the state; the removal is kept there.
    await eventually(async () => expect(await pendingWebhookRemovals(t!.db)).toEqual([{ flowId: 'people', nodeId: 'a', url, config: expect.stringContaining('"connector":"sqlite"') }]));

    reach();
    await restart(t);
    await eventually(() => expect(hooks.has(url)).toBe(false));
    await eventually(async () => expect(await pendingWebhookRemovals(t!.db)).toEqual([]));
    expect(calls.filter((call) => call === `unregister ${url}`)).toEqual([`unregister ${url}`]);
  });

  it('drops a removal it could not make when the trigger is deployed again, and keeps the hook across a restart', async () => {
    const { registry, hooks, calls, reach } = withOutage();
    t = await testRuntime({ connectors: registry, publicUrl: 'https://sync.example.com' });
    const url = await deployRegistered(t, hooks);
    expect((await t.post('/api/flows/people/pause')).status).toBe(200);
    await eventually(() => expect(calls).toContain(`unregister ${url} failed`));
    await eventually(async () => expect(await pendingWebhookRemovals(t!.db)).toHaveLength(1));
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await eventually(async () => expect(await pendingWebhookRemovals(t!.db)).toEqual([]));

    reach();
    await restart(t);
    // The restart registers the trigger again (finding its hook); no removal was left to run before or after it.
    await eventually(() => expect(calls.filter((call) => call.startsWith('register'))).toHaveLength(3));
    expect(hooks.has(url)).toBe(true);
    expect(calls).not.toContain(`unregister ${url}`);
  });

  /** The people flow's trigger `a` as `GET /api/flows/people/status` shows it. */
  async function triggerStatus(runtime: TestRuntime): Promise<Record<string, unknown>> {
    const answer = await runtime.request('/api/flows/people/status', { headers: { authorization: `Bearer ${TOKEN}` } });
    return ((await answer.json()) as { nodes: Record<string, Record<string, unknown>> }).nodes.a ?? {};
  }

  it("shows the trigger's hook in its status: why the system refused it, then what the system's connector noted", async () => {
    const { registry, hooks } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    const webhook = sqlite.webhook as ConnectorWebhook;
    let refusing = true;
    const noting: ConnectorWebhook = {
      ...webhook,
      register: async (context, target) => {
        if (refusing) throw new Error('403 Forbidden: the key may not manage webhooks');
        await webhook.register!(context, target);
        return { notes: ['the system will not announce changes to name'] };
      },
    };
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook: noting } }, publicUrl: 'https://sync.example.com' });
    await deployPeople(t);
    const url = 'https://sync.example.com/hooks/people/a';
    await eventually(async () => expect((await triggerStatus(t!)).webhook).toEqual({ url, registered: false, error: '403 Forbidden: the key may not manage webhooks', notes: [] }));
    // The key is given the permission: the next try (1, 2, 4… s apart) registers the hook.
    refusing = false;
    await eventually(() => expect(hooks.has(url)).toBe(true));
    await eventually(async () => expect((await triggerStatus(t!)).webhook).toEqual({ url, registered: true, error: null, notes: ['the system will not announce changes to name'] }));
    // The manual trigger registers nothing.
    const answer = await t.request('/api/flows/people/status', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await answer.json()) as { nodes: Record<string, { webhook: unknown }> }).nodes.b?.webhook).toBeNull();
  });

  it('registers again with the new secret when its credential is stored anew, so the system signs with it', async () => {
    const { registry, hooks, calls } = registeringRegistry();
    t = await testRuntime({ connectors: registry, publicUrl: 'https://sync.example.com' });
    const url = await deployRegistered(t, hooks);
    expect(hooks.get(url)).toBe(SECRET);
    expect((await t.request('/api/credentials/hook-secret', { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(204);
    expect((await t.post('/api/credentials', { name: 'hook-secret', type: 'webhook-secret', value: 'a-new-signing-secret' })).status).toBe(201);
    await eventually(() => expect(hooks.get(url)).toBe('a-new-signing-secret'));
    expect(calls).toEqual([`register ${url} (people)`, `register ${url} (people)`]);
  });

  it("removes a changed trigger's old hook before it registers the new one at the same URL, so the new one stays", async () => {
    const { registry, hooks, calls } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    // The system takes its time to remove a hook: a register of the changed trigger must not run meanwhile, or the
    // removal, landing after it, deletes the hook just made (both find it by its URL).
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let removed = 0;
    const slowRemoval: ConnectorWebhook = {
      ...(sqlite.webhook as ConnectorWebhook),
      unregister: async (_context, url) => {
        calls.push(`unregister ${url}`);
        await gate;
        hooks.delete(url);
        removed++;
      },
    };
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook: slowRemoval } }, publicUrl: 'https://sync.example.com' });
    const url = await deployRegistered(t, hooks);

    const changed = peopleFlow({ detect: { mode: 'webhook', secret: { credential: 'hook-secret' }, idPath: 'data.id' } });
    const replaced = await t.request('/api/flows/people', { method: 'PUT', headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' }, body: JSON.stringify(changed) });
    expect(replaced.status).toBe(200);
    await eventually(() => expect(calls).toContain(`unregister ${url}`));
    openGate();
    await eventually(() => expect({ removed, calls: calls.length }).toEqual({ removed: 1, calls: 3 }));
    expect(calls).toEqual([`register ${url} (people)`, `unregister ${url}`, `register ${url} (people)`]);
    expect(hooks.has(url)).toBe(true);
  });

  it('registers nothing without a public URL: the systems could not reach the runtime', async () => {
    const { registry, calls } = registeringRegistry();
    t = await testRuntime({ connectors: registry });
    await deployPeople(t, peopleFlow({ id: 'people' }));
    // The deploy has been answered and its flow scheduled; a poll of the trigger status shows the runtime at work.
    const status = await t.request('/api/flows/people', { headers: { authorization: 'Bearer test-token-0123456789' } });
    expect(status.status).toBe(200);
    expect(calls).toEqual([]);
  });
});

describe('webhooks whose system makes the signing secret', () => {
  let t: TestRuntime | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("stores the secret the system returned as the trigger's secret, replacing what was there", async () => {
    const { registry } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    const offered: Array<string | null> = [];
    const webhook: ConnectorWebhook = {
      ...(sqlite.webhook as ConnectorWebhook),
      generatesSecret: true,
      register: async (_context, target) => {
        offered.push(target.secret);
        return { secret: 'made-by-the-system-0123456789' };
      },
    };
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook } }, publicUrl: 'https://sync.example.com' });
    await deployPeople(t);
    await eventually(async () => expect(await t!.runtime.deps.credentials.resolve('hook-secret')).toBe('made-by-the-system-0123456789'));
    expect(offered).toEqual([SECRET]);
  });

  it('deploys without the secret stored first, and stores the one the system made', async () => {
    const { registry } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    const webhook: ConnectorWebhook = { ...(sqlite.webhook as ConnectorWebhook), generatesSecret: true, register: async () => ({ secret: 'made-by-the-system-0123456789' }) };
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook } }, publicUrl: 'https://sync.example.com' });
    expect((await t.post('/api/flows', peopleFlow())).status).toBe(201);
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await eventually(async () => expect(await t!.runtime.deps.credentials.resolve('hook-secret')).toBe('made-by-the-system-0123456789'));
  });

  it('still asks for the secret where nothing registers the webhook (no public URL)', async () => {
    const { registry } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    const webhook: ConnectorWebhook = { ...(sqlite.webhook as ConnectorWebhook), generatesSecret: true };
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook } } });
    expect((await t.post('/api/flows', peopleFlow())).status).toBe(201);
    const refused = await t.post('/api/flows/people/deploy');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: 'missing_credential' } });
  });

  it('refuses a deploy that would keep two such webhooks\' secrets in one credential, naming both triggers', async () => {
    const { registry } = registeringRegistry();
    const sqlite = registry.sqlite as ConnectorType;
    // As Zendesk and BambooHR: the system makes the secret, and the runtime stores it under detect.secret.
    t = await testRuntime({ connectors: { ...registry, sqlite: { ...sqlite, webhook: { ...(sqlite.webhook as ConnectorWebhook), generatesSecret: true } } }, publicUrl: 'https://sync.example.com' });
    await deployPeople(t);
    const second = peopleFlow({ id: 'people-copy' });
    expect((await t.post('/api/flows', second)).status).toBe(201);
    const refused = await t.post('/api/flows/people-copy/deploy');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({
      error: {
        code: 'shared_webhook_secret',
        path: 'nodes[0].config.detect.secret',
        message: expect.stringContaining('trigger "a" keeps the signing secret its system makes for its webhook in credential "hook-secret", as trigger "a" of deployed flow "people" does'),
      },
    });
    // Under a credential of its own it deploys.
    const own = peopleFlow({ id: 'people-copy', detect: { mode: 'webhook', secret: { credential: 'hook-secret-2' } } });
    expect((await t.request('/api/flows/people-copy', { method: 'PUT', headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' }, body: JSON.stringify(own) })).status).toBe(200);
    expect((await t.post('/api/flows/people-copy/deploy')).status).toBe(200);
  });
});
