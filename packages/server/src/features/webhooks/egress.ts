import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIPv4, isIPv6, type LookupFunction } from 'node:net';

/**
 * Ranges a webhook must not reach: a project editor chooses the URL and the server makes the
 * request, so without this a webhook is a way to call what only the server can reach (a cloud
 * metadata service at 169.254.169.254, an admin port on localhost, a database in the private
 * network). Public unicast addresses are what remains.
 */
const FORBIDDEN_V4: readonly (readonly [string, number, string])[] = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address (where cloud metadata services answer)'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved or broadcast address'],
];

const FORBIDDEN_V6: readonly (readonly [string, number, string])[] = [
  ['::', 128, 'the unspecified address'],
  ['::1', 128, 'the loopback address'],
  ['fc00::', 7, 'a unique-local address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
  ['100::', 64, 'a discard address'],
  ['2001:db8::', 32, 'a documentation address'],
];

/**
 * IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at: IPv4-mapped
 * (`::ffff:127.0.0.1`), IPv4-compatible (deprecated, `::127.0.0.1`) and NAT64's. Each is judged
 * as the IPv4 address it carries, so none is a way around the IPv4 ranges.
 */
const EMBEDS_V4: readonly (readonly [string, number])[] = [
  ['::ffff:0:0', 96],
  ['::', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
];

function blockList(ranges: readonly (readonly [string, number, ...unknown[]])[], family: 'ipv4' | 'ipv6') {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const EMBEDDING = blockList(EMBEDS_V4, 'ipv6');
const FORBIDDEN_RANGES_V4 = FORBIDDEN_V4.map(([network, prefix, why]) => ({
  list: blockList([[network, prefix]], 'ipv4'),
  why,
}));
const FORBIDDEN_RANGES_V6 = FORBIDDEN_V6.map(([network, prefix, why]) => ({
  list: blockList([[network, prefix]], 'ipv6'),
  why,
}));

/** The eight 16-bit groups of an IPv6 address (one `net.isIPv6` accepts), a trailing dotted quad included. */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0] as string;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad !== null) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 address carries in its last 32 bits, when its prefix is one that does. */
function embeddedIPv4(address: string): string | undefined {
  if (!EMBEDDING.check(address, 'ipv6')) return undefined;
  const groups = ipv6Groups(address);
  const high = groups[6] as number;
  const low = groups[7] as number;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** A host name as written in a URL, without the brackets of an IPv6 literal or a final dot. */
function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

/** The error a connection fails with when the name it was for resolves to a forbidden address. */
export class ForbiddenAddressError extends Error {
  readonly code = 'WEBHOOK_ADDRESS_FORBIDDEN';

  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenAddressError';
  }
}

/**
 * Which hosts webhooks may call, as `SWITCHYARD_WEBHOOK_ALLOWED_HOSTS` says on top of the
 * default (every public address). A URL is checked when a webhook is saved (its scheme, its
 * credentials, a literal address), and every connection is checked again when it is made:
 * `lookup` resolves the name and fails when any address it resolves to is forbidden, and the
 * connection goes to the address it checked. Checking a name when it is saved and connecting
 * later would not do: a name can resolve to a public address at one moment and to 127.0.0.1 the
 * next (DNS rebinding).
 */
export class EgressPolicy {
  private readonly allowedNames = new Set<string>();
  private readonly allowedAddresses = new BlockList();

  /**
   * `allowedHosts`: host names (matched exactly, without the port), addresses and CIDR ranges
   * (`10.0.0.0/8`, `fd00::/8`) allowed although private. Throws on an entry that is none of these.
   */
  constructor(allowedHosts: readonly string[] = []) {
    for (const raw of allowedHosts) {
      const entry = raw.trim();
      if (entry === '') continue;
      const [network = '', prefix, ...rest] = entry.split('/');
      const host = bareHost(network);
      const family = isIPv4(host) ? 'ipv4' : isIPv6(host) ? 'ipv6' : undefined;
      const bits = prefix === undefined ? undefined : Number(prefix);
      const maxBits = family === 'ipv4' ? 32 : 128;
      if (family !== undefined && bits === undefined && rest.length === 0) {
        this.allowedAddresses.addAddress(host, family);
      } else if (
        family !== undefined &&
        rest.length === 0 &&
        /^\d{1,3}$/.test(prefix ?? '') &&
        bits !== undefined &&
        bits <= maxBits
      ) {
        this.allowedAddresses.addSubnet(host, bits, family);
      } else if (prefix === undefined && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host)) {
        this.allowedNames.add(host);
      } else {
        throw new Error(
          `SWITCHYARD_WEBHOOK_ALLOWED_HOSTS: ${JSON.stringify(entry)} is not a host name, an address or a CIDR range`,
        );
      }
    }
  }

  /** Why a connection to `address` (an IP address) must not be made, or `undefined` when it may. */
  refuseAddress(address: string): string | undefined {
    const ip = bareHost(address);
    const v4 = isIPv4(ip) ? ip : isIPv6(ip) ? embeddedIPv4(ip) : undefined;
    if (v4 !== undefined && this.allowedAddresses.check(v4, 'ipv4')) return undefined;
    if (isIPv6(ip) && this.allowedAddresses.check(ip, 'ipv6')) return undefined;
    if (isIPv6(ip)) {
      const why = FORBIDDEN_RANGES_V6.find((r) => r.list.check(ip, 'ipv6'))?.why;
      if (why !== undefined) return why;
    }
    if (v4 !== undefined) return FORBIDDEN_RANGES_V4.find((r) => r.list.check(v4, 'ipv4'))?.why;
    return isIPv6(ip) ? undefined : 'not an IP address';
  }

  /**
   * Why `url` may not be a webhook's, or `undefined` when it may: it must be `http://` or
   * `https://`, carry no credentials, and not name a forbidden address literally, however it is
   * spelt (the URL parser turns `http://2130706433/`, `http://0x7f.1/` and `http://0177.0.0.1/`
   * into 127.0.0.1 before this looks). A name is judged by what it resolves to, when a request is made.
   */
  refuseUrl(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'is not a URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http:// or https:// URL';
    if (parsed.username !== '' || parsed.password !== '') {
      return 'must not carry credentials (user:password@); the signature tells the receiver who is calling';
    }
    const host = bareHost(parsed.hostname);
    if (this.allowedNames.has(host) || !(isIPv4(host) || isIPv6(host))) return undefined;
    const why = this.refuseAddress(host);
    return why === undefined
      ? undefined
      : `names ${host}, ${why}; an operator can allow it with SWITCHYARD_WEBHOOK_ALLOWED_HOSTS`;
  }

  /**
   * `net`'s `lookup` for webhook connections: resolves as usual, then fails the connection when
   * any of the addresses is forbidden (one good address beside a bad one is still a name that
   * points inside). A name the operator allowed is not checked.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, '', 0);
        return;
      }
      if (!this.allowedNames.has(bareHost(hostname))) {
        for (const { address } of addresses) {
          const why = this.refuseAddress(address);
          if (why !== undefined) {
            const refused = new ForbiddenAddressError(
              `refused to connect: ${hostname} resolves to ${address}, ${why}; an operator can allow it with SWITCHYARD_WEBHOOK_ALLOWED_HOSTS`,
            );
            callback(refused as NodeJS.ErrnoException, '', 0);
            return;
          }
        }
      }
      if (options.all === true) {
        (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, addresses);
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      callback(null, first.address, first.family);
    });
  };
}
