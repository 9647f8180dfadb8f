import type { Clock } from '@switchyard/core';

/**
 * Wall-clock time and unref'd timers: reconnect backoffs and flush intervals must not keep a
 * process alive on their own (an open stream does, as any open socket).
 */
export const nodeClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
