/**
 * Which addresses a connector (or an alert) may call (`ConnectorAccess.hosts`), enforced where the connection is
 * made rather than by reading the URL: every address a name resolves to is checked before the socket connects, and
 * the socket connects to an address that passed. So a name that resolves to a refused address, a redirect, a DNS
 * answer that changes between two requests (rebinding) and numeric spellings of an address (`2130706433`, `0x7f.1`,
 * `[::ffff:127.0.0.1]`, which URL parsing turns into the address itself) all meet the same check.
 *
 * - Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, in any IPv6 wrapping), the
 *   unspecified address and multicast: always refused.
 * - Loopback, private and other special-purpose ranges: only when the operator allowed the host (`HostAccess`).
 * - Everything else (public unicast): allowed.
 *
 * A connector for any HTTP API uses {@link guardedFetch}; a vendor SDK that takes a `fetch` gets the same one.
 */
import ipaddr from 'ipaddr.js';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, type Dispatcher, type buildConnector } from 'undici';
import { AccessRefusedError, accessSettings, type HostAccess } from './access';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Where an address stands, whatever the policy. */
export type AddressKind = 'public' | 'internal' | 'forbidden';

/** Instance metadata services answer on these without any credential; they are never a flow's business. */
const metadataAddresses = ['fd00:ec2::254'].map((address) => ipaddr.parse(address).toNormalizedString());
const forbiddenRanges = new Set(['unspecified', 'broadcast', 'linkLocal', 'multicast']);
/** IPv6 ranges whose last 32 bits are an IPv4 address that the packet ends up at (NAT64, SIIT). */
const embeddingRanges = new Set(['rfc6052', 'rfc6145']);

/** Connecting gives up after this long, as undici's own connector does. */
const connectTimeoutMs = 10_000;

/** How an address is treated: `public` is always allowed, `internal` only when allowed, `forbidden` never. */
export function classifyAddress(text: string): AddressKind {
  const address = ipaddr.process(text);
  return classify(address);
}

function classify(address: Address): AddressKind {
  const range = address.range();
  if (forbiddenRanges.has(range)) return 'forbidden';
  if (address.kind() === 'ipv6') {
    if (metadataAddresses.includes(address.toNormalizedString())) return 'forbidden';
    if (embeddingRanges.has(range) || range === '6to4') {
      const bytes = address.toByteArray();
      const embedded = range === '6to4' ? bytes.slice(2, 6) : bytes.slice(12, 16);
      // DNS64 gives every IPv4-only host such an address: it is where the embedded one is.
      return classify(new ipaddr.IPv4(embedded));
    }
  }
  return range === 'unicast' ? 'public' : 'internal';
}

/** One `HostAccess.allowed` entry, parsed. */
type AllowedHost =
  | { kind: 'private' }
  | { kind: 'range'; range: [Address, number] }
  | { kind: 'address'; address: string; port: number | null }
  | { kind: 'name'; name: string; port: number | null };

/** Parses an allowed-host entry (`localhost:8080`, `10.0.0.0/8`, `[::1]`, `private`), or says what is wrong with it. */
export function parseAllowedHost(entry: string): AllowedHost | string {
  const text = entry.trim();
  if (text === 'private') return { kind: 'private' };
  if (text.includes('/')) {
    try {
      const [base, bits] = ipaddr.parseCIDR(text);
      // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8: addresses are compared unwrapped.
      const range: [Address, number] = base.kind() === 'ipv6' && (base as ipaddr.IPv6).isIPv4MappedAddress() ? [(base as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)] : [base, bits];
      return { kind: 'range', range };
    } catch {
      return 'a range must be an address and a prefix length, e.g. 10.0.0.0/8 or fd00::/8';
    }
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const hostAndPort = bracketed ?? (isIP(text) === 6 ? [text, text, undefined] : /^([^:]+)(?::(\d+))?$/.exec(text));
  if (!hostAndPort) return 'must be a host, host:port, an IP address ([::1]:8080 for IPv6), a range such as 10.0.0.0/8, or private';
  const host = hostAndPort[1] as string;
  const port = hostAndPort[2] === undefined ? null : Number(hostAndPort[2]);
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) return 'the port must be a whole number from 1 to 65535';
  if (ipaddr.isValid(host)) {
    const address = ipaddr.process(host);
    if (classify(address) === 'forbidden') return 'link-local, metadata, unspecified and multicast addresses can never be allowed';
    return { kind: 'address', address: address.toNormalizedString(), port };
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(host)) return 'must be a host name, an IP address, a range or private';
  return { kind: 'name', name: canonicalName(host), port };
}

function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A compiled `HostAccess`: whether a connection to `host` (as the URL names it) at `port` may use `address`. */
export class HostPolicy {
  private readonly entries: AllowedHost[];

  constructor(readonly access: HostAccess) {
    this.entries = access.allowed.flatMap((entry) => {
      const parsed = parseAllowedHost(entry);
      return typeof parsed === 'string' ? [] : [parsed];
    });
  }

  /** The refusal for connecting to `address` on behalf of `host`:`port`, or null when it is allowed. */
  refusal(host: string, port: number, address: string): AccessRefusedError | null {
    const parsed = ipaddr.process(address);
    const kind = classify(parsed);
    if (kind === 'public') return null;
    const literal = isIP(host) !== 0;
    // A literal is shown unwrapped (`::ffff:7f00:1` is 127.0.0.1): that is the spelling an allow entry needs.
    const named = literal ? ipaddr.process(host).toString() : canonicalName(host);
    const shown = `${isIP(named) === 6 ? `[${named}]` : named}:${port}`;
    if (kind === 'forbidden') {
      return new AccessRefusedError(
        `${shown}: ${literal ? 'a' : 'the name resolves to a'} link-local, cloud metadata, unspecified or multicast address, which Syncline never connects to`,
      );
    }
    if (this.allows(named, port, parsed)) return null;
    return new AccessRefusedError(
      `${shown}: ${literal ? 'a' : 'the name resolves to a'} loopback or private address, which a flow may reach only when the operator allows it: start Syncline with ${accessSettings.hosts.option} ${shown} (or add it to ${accessSettings.hosts.env})`,
    );
  }

  private allows(host: string, port: number, address: Address): boolean {
    const normalized = address.toNormalizedString();
    return this.entries.some((entry) => {
      switch (entry.kind) {
        case 'private':
          return true;
        case 'range':
          return address.kind() === entry.range[0].kind() && address.match(entry.range);
        case 'address':
          return entry.address === normalized && (entry.port === null || entry.port === port);
        case 'name':
          return entry.name === host && (entry.port === null || entry.port === port);
      }
    });
  }

  /**
   * A `dns.lookup` for `net.connect` that answers only with addresses that pass: an address that may never be reached
   * fails the whole name (it is hostile, not misconfigured); other refused ones are dropped, and when none is left the
   * lookup fails with the refusal.
   */
  lookupFor(host: string, port: number): typeof dnsLookup {
    const lookup = (hostname: string, options: LookupAllOptions | Record<string, unknown>, callback: (...args: unknown[]) => void) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error);
        const passed: LookupAddress[] = [];
        let refused: AccessRefusedError | null = null;
        for (const address of addresses) {
          const refusal = this.refusal(host, port, address.address);
          if (refusal && classifyAddress(address.address) === 'forbidden') return callback(refusal);
          if (refusal) refused ??= refusal;
          else passed.push(address);
        }
        const first = passed[0];
        if (!first) return callback(refused ?? new AccessRefusedError(`${host}: the name resolves to no address`));
        if ((options as { all?: boolean }).all) return callback(null, passed);
        return callback(null, first.address, first.family);
      });
    };
    return lookup as unknown as typeof dnsLookup;
  }
}

/**
 * An undici connector (the `connect` of an Agent) that connects only where the policy allows: an address in the URL
 * is checked as it is, a name through {@link HostPolicy.lookupFor}.
 */
function guardedConnector(policy: HostPolicy): buildConnector.connector {
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    const secure = options.protocol === 'https:';
    const port = Number(options.port) || (secure ? 443 : 80);
    if (isIP(host) !== 0) {
      const refusal = policy.refusal(host, port, host);
      if (refusal) {
        process.nextTick(callback, refusal, null);
        return;
      }
    }
    const target = { host, port, lookup: policy.lookupFor(host, port), ...(options.localAddress ? { localAddress: options.localAddress } : {}) };
    const socket: Socket = secure
      ? tlsConnect({ ...target, servername: options.servername ?? (isIP(host) === 0 ? host : undefined), ALPNProtocols: ['http/1.1'], ...(options.httpSocket ? { socket: options.httpSocket } : {}) })
      : netConnect(target);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect timeout after ${connectTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' })), connectTimeoutMs);
    const settle = (error: Error | null) => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off(secure ? 'secureConnect' : 'connect', onConnect);
      if (error) callback(error, null);
      else callback(null, socket);
    };
    const onError = (error: Error) => settle(error);
    const onConnect = () => settle(null);
    socket.once('error', onError);
    socket.once(secure ? 'secureConnect' : 'connect', onConnect);
  };
}

const dispatchers = new Map<string, Dispatcher>();

/** The dispatcher that enforces a host policy, one per policy and process so connections are pooled across connectors. */
export function guardedDispatcher(access: HostAccess): Dispatcher {
  const key = JSON.stringify(access.allowed);
  let dispatcher = dispatchers.get(key);
  if (!dispatcher) {
    dispatcher = new Agent({ connect: guardedConnector(new HostPolicy(access)) });
    dispatchers.set(key, dispatcher);
  }
  return dispatcher;
}

/** `fetch` that connects only where the host policy allows; refusals reject with a TypeError whose cause is an {@link AccessRefusedError}. */
export function guardedFetch(access: HostAccess): typeof fetch {
  const dispatcher = guardedDispatcher(access);
  return (input, init) => fetch(input, { ...init, dispatcher } as RequestInit);
}

/** The policy's refusal inside a failed fetch, if that is why it failed. */
export function accessRefusalOf(error: unknown): AccessRefusedError | null {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof AccessRefusedError) return current;
  }
  return null;
}
