import type { Clock } from '@switchyard/core';

/** The longest delay Node's timers take; a longer one (or Infinity) would fire at once. */
const LONGEST_DELAY_MS = 2 ** 31 - 1;

/**
 * Wall-clock time and unref'd timers: reconnect backoffs and flush intervals must not keep a
 * process alive on their own (an open stream does, as any open socket). A timer that settles
 * what the application awaits does.
 */
export const nodeClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, holdsProcess = false) {
    const timer = setTimeout(fn, Math.min(ms, LONGEST_DELAY_MS));
    if (!holdsProcess) timer.unref();
    return () => clearTimeout(timer);
  },
};
