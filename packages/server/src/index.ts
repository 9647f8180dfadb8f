export type { Flag, Ruleset, Segment } from '@switchyard/core';

/** The server's configuration, parsed once from the environment (DESIGN §7). */
export interface ServerConfig {
  port: number;
  host: string;
  databaseUrl?: string;
  redisUrl?: string;
  dataDir: string;
  adminToken?: string;
  logLevel: string;
}
