/**
 * Any store that can keep one string under a key: an ioredis or node-redis client fits as it is
 * (`get` resolving to `null` when absent, `set` to anything). It may reject: the SDK logs the
 * failure and goes on without the cache.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null | undefined>;
  set(key: string, value: string): Promise<unknown>;
}
