import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test-support/database.js';
import { redactUrl } from './redact.js';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const ADMIN_TOKEN = `sy_admin_${'logged'.repeat(4)}`;

let child: ChildProcess | undefined;
let testDb: TestDatabase | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await testDb?.drop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the real server (`main.ts`) at trace level and gathers everything it prints. */
async function startServer(): Promise<{ base: string; output: () => string; stop: () => Promise<void> }> {
  testDb = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'switchyard-redact-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'trace' };
  delete env.REDIS_URL;
  env.SWITCHYARD_ADMIN_TOKEN = ADMIN_TOKEN;
  if (testDb.url === undefined) {
    delete env.DATABASE_URL;
    env.SWITCHYARD_DATA_DIR = dataDir;
  } else env.DATABASE_URL = testDb.url;
  const started = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  let out = '';
  started.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  started.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /ready in [\d.]+ s: (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearInterval(timer);
        resolve(m[1]);
      } else if (started.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`the server exited:\n${out}`));
      }
    }, 50);
  });
  return {
    base,
    output: () => out,
    stop: async () => {
      const exited = new Promise((resolve) => started.once('exit', resolve));
      started.kill('SIGTERM');
      await exited;
    },
  };
}

describe('redactUrl', () => {
  it('replaces credential query values and tokens, and keeps the rest', () => {
    expect(redactUrl('/sdk/v1/stream?key=sy_client_abc&lastEventId=4')).toBe(
      '/sdk/v1/stream?key=[REDACTED]&lastEventId=4',
    );
    expect(redactUrl('/x?a=1&TOKEN=secret#f')).toBe('/x?a=1&TOKEN=[REDACTED]#f');
    expect(redactUrl('/api/v1/keys/sy_admin_x-Y_z')).toBe('/api/v1/keys/[REDACTED]');
  });
});

describe('a full run of the server', () => {
  it('logs no key it was sent, in URLs or headers, whatever the outcome', { timeout: 60_000 }, async () => {
    const server = await startServer();
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.base}${path}`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
      expect(res.status, path).toBeLessThan(300);
      return (await res.json()) as { token: string };
    };
    await post('/api/v1/projects', { key: 'logs', name: 'Logs' });
    await post('/api/v1/projects/logs/environments', { key: 'production', name: 'Production' });
    const keyOf = (type: string) =>
      post('/api/v1/keys', { name: type, type, project: 'logs', environment: 'production' });
    const client = (await keyOf('client')).token;
    const server_ = (await keyOf('server')).token;
    const secrets = [ADMIN_TOKEN, client, server_];

    const statuses: number[] = [];
    for (const token of secrets) {
      for (const path of [`/sdk/v1/ruleset?key=${token}`, `/sdk/v1/ruleset?token=${token}`, `/nowhere?key=${token}`]) {
        statuses.push((await fetch(`${server.base}${path}`)).status);
      }
      statuses.push(
        (await fetch(`${server.base}/sdk/v1/ruleset`, { headers: { authorization: `Bearer ${token}` } })).status,
      );
      statuses.push(
        (await fetch(`${server.base}/api/v1/projects`, { headers: { authorization: `Bearer ${token}` } })).status,
      );
    }
    statuses.push(
      (await fetch(`${server.base}/api/v1/projects`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } })).status,
    );
    // Served (200), refused (401, 403) and unknown routes (404) all went through the logger.
    expect(new Set(statuses)).toEqual(new Set([200, 401, 403, 404]));
    await server.stop();

    // The log lines are pino's JSON; the first-start banner (the seeded keys, shown once, on purpose) is not a log.
    const logs = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(logs.some((line) => line.includes('"url":"/sdk/v1/ruleset?key=[REDACTED]"'))).toBe(true);
    for (const secret of secrets) {
      expect(logs.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});
