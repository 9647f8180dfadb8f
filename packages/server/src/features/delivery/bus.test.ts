import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CommittedVersion } from '../changes/change-feed.js';
import { RedisBus } from './bus.js';

const REDIS_URL = process.env.REDIS_URL;

const buses: RedisBus[] = [];
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
});

function bus(channel: string): RedisBus {
  const b = new RedisBus({ url: REDIS_URL as string, channel });
  buses.push(b);
  return b;
}

/** The subscriber connection, reached into only to pick the moment of the race below. */
const subscriberOf = (b: RedisBus) => (b as unknown as { sub: Redis }).sub;

describe.runIf(REDIS_URL)('RedisBus', () => {
  it('hears the other instances when it subscribes while its connection is still being checked', async () => {
    const channel = `switchyard:test:${randomBytes(6).toString('hex')}`;
    const publisher = bus(channel);
    const listener = bus(channel);
    // Connected, with ioredis's INFO check not answered yet: a server that does not wait for
    // Redis subscribes in this window, and its subscription used to be lost for good.
    await new Promise<void>((resolve) => subscriberOf(listener).once('connect', () => resolve()));
    const received: CommittedVersion[] = [];
    listener.subscribe(
      (m) => received.push(m),
      () => undefined,
    );
    await Promise.all([publisher.ready(), listener.ready()]);
    // A message published before SUBSCRIBE is answered is not delivered: keep publishing.
    await vi.waitFor(
      () => {
        publisher.publish({ environmentId: 'env', version: 1 });
        expect(received.length).toBeGreaterThan(0);
      },
      { timeout: 3000, interval: 50 },
    );
    expect(received[0]).toEqual({ environmentId: 'env', version: 1 });
  });
});
