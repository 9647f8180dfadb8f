import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

const WINDOW_MS = 60_000;

/**
 * Distinct addresses counted in one window. An attacker who spreads a guess over more addresses
 * than this gets no fresh budget per address: the addresses beyond it share one count.
 */
const MAX_ADDRESSES = 100_000;

const OVERFLOW = '*';

/**
 * The address a failure is counted under. An IPv6 host usually owns a whole /64, so counting
 * its full addresses would give it 2^64 budgets.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':') || ip.startsWith('::ffff:')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Failed authentications (401 answers) per source address in fixed one-minute windows. An
 * address past its budget is refused before its credential is even looked at, so answers cannot
 * tell a guess that would have been right from one that would not.
 */
export class AuthFailureLimit {
  private windowStart: number;
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  /** Whole seconds until `ip` may try again; 0 when it may now. */
  retryAfterSeconds(ip: string): number {
    this.roll();
    if (this.countOf(addressKey(ip)) < this.perMinute) return 0;
    return Math.max(1, Math.ceil((this.windowStart + WINDOW_MS - this.now()) / 1000));
  }

  recordFailure(ip: string): void {
    this.roll();
    const key = addressKey(ip);
    const counted = this.failures.has(key) || this.failures.size < MAX_ADDRESSES ? key : OVERFLOW;
    this.failures.set(counted, (this.failures.get(counted) ?? 0) + 1);
  }

  private countOf(key: string): number {
    return this.failures.get(key) ?? (this.failures.size >= MAX_ADDRESSES ? (this.failures.get(OVERFLOW) ?? 0) : 0);
  }

  private roll(): void {
    const elapsed = this.now() - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    this.windowStart += elapsed - (elapsed % WINDOW_MS);
    this.failures.clear();
  }
}

/** Probes come from load balancers, which may share an address with a client that keeps failing. */
const isProbe = (route: string | undefined) => route === '/healthz' || route === '/readyz';

/**
 * Counts every 401 the server answers against the caller's address and answers 429
 * `RATE_LIMITED` with `Retry-After` once an address has failed `perMinute` times in the current
 * minute, on every route but the health probes.
 */
export function limitAuthFailures(app: FastifyInstance, perMinute: number, now?: () => number): void {
  const limit = new AuthFailureLimit(perMinute, now);
  app.addHook('onRequest', async (request, reply) => {
    if (isProbe(request.routeOptions.url)) return;
    const seconds = limit.retryAfterSeconds(request.ip);
    if (seconds === 0) return;
    reply.header('retry-after', String(seconds));
    throw new AppError('RATE_LIMITED', `too many failed authentications from this address; try again in ${seconds} s`, {
      retryAfterSeconds: seconds,
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401) limit.recordFailure(request.ip);
  });
}
