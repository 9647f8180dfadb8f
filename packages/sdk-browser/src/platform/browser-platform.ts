import type { Logger, Platform, Storage } from '@switchyard/core';
import { fetchEventStream } from './fetch-event-stream.js';
import { fetchHttp } from './fetch-http.js';

/** Warnings and errors on the console; debug and info are dropped unless a logger is passed. */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
};

/**
 * `localStorage`, when the page may use it (it throws in some private modes and sandboxed
 * frames, and is absent outside a browser). `read` is synchronous so that cached flags can be
 * served by the very first getter call of a page load.
 */
export const localStore = {
  read(key: string): string | null {
    try {
      return globalThis.localStorage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  },
  port: {
    get: async (key) => globalThis.localStorage?.getItem(key),
    // A full quota rejects, and the shared client logs it: the flags still work, uncached.
    set: async (key, value) => globalThis.localStorage?.setItem(key, value),
  } satisfies Storage,
};

export function browserPlatform(logger: Logger, cache: boolean): Platform {
  return {
    clock: {
      now: Date.now,
      setTimeout(fn, ms) {
        const timer = setTimeout(fn, ms);
        return () => clearTimeout(timer);
      },
    },
    http: fetchHttp,
    stream: fetchEventStream,
    logger,
    ...(cache ? { storage: localStore.port } : {}),
  };
}
