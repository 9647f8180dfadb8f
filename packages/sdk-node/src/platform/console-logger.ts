import type { Logger } from '@switchyard/core';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, none: 4 };

/** The default logger: `console`, from `level` up. */
export function consoleLogger(level: LogLevel = 'warn'): Logger {
  const at = ORDER[level] ?? ORDER.warn;
  const noop = () => undefined;
  return {
    debug: at <= 0 ? (m) => console.debug(m) : noop,
    info: at <= 1 ? (m) => console.info(m) : noop,
    warn: at <= 2 ? (m) => console.warn(m) : noop,
    error: at <= 3 ? (m) => console.error(m) : noop,
  };
}
