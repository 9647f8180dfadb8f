import {
  type ClientOptions,
  FlagClient,
  type HttpResponse,
  type Platform,
  type Ruleset,
  type StreamHandlers,
} from '@switchyard/core';

/**
 * A platform whose stream delivers `ruleset` as its `put` `puts` times as soon as it opens, and
 * whose HTTP accepts event batches: the client behind it is exactly the one the Node SDK's
 * `createClient` returns (`FlagClient`, analytics on), ready, without a network in the timing.
 */
function inProcessPlatform(ruleset: string, puts: number): Platform {
  const timers = new Set<NodeJS.Timeout>();
  return {
    clock: {
      now: () => Date.now(),
      setTimeout(fn, ms) {
        const t = setTimeout(fn, ms);
        t.unref();
        timers.add(t);
        return () => clearTimeout(t);
      },
    },
    http: {
      request: async (): Promise<HttpResponse> => ({ status: 202, header: () => undefined, body: '' }),
    },
    stream: {
      open(_request, handlers: StreamHandlers) {
        queueMicrotask(() => {
          handlers.onOpen();
          handlers.onData();
          for (let i = 1; i <= puts; i++) handlers.onEvent({ event: 'put', data: ruleset, lastEventId: `${i}` });
        });
        return { close() {} };
      },
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
}

/**
 * A ready client serving `ruleset`; `extra` may make it start from a bootstrap, or serve only that
 * bootstrap, offline. With `puts` above 1 its store has replaced the evaluator it
 * serves, as after a reconnection: until then the field holding it is written once, which V8
 * treats as a constant that the JIT may fold into a getter inlined where the client is known.
 */
export async function readyClient(
  ruleset: Ruleset | string,
  puts = 1,
  extra: Pick<ClientOptions, 'offline' | 'bootstrap'> = {},
): Promise<FlagClient> {
  const text = typeof ruleset === 'string' ? ruleset : JSON.stringify(ruleset);
  const client = new FlagClient(
    // Analytics stay on (every getter counts), flushed far less often than a slice lasts.
    { sdkKey: 'bench', baseUrl: 'http://bench.invalid', flushIntervalMs: 3_600_000, ...extra },
    inProcessPlatform(text, puts),
  );
  await client.waitForReady({ timeout: 5_000 });
  return client;
}
