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

const children: ChildProcess[] = [];
const testDbs: TestDatabase[] = [];
const dataDirs: string[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const testDb of testDbs) await testDb.drop();
  for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the real server (`main.ts`) at trace level and gathers everything it prints. */
async function startServer(): Promise<{ base: string; output: () => string; stop: () => Promise<void> }> {
  const testDb = await createTestDatabase();
  testDbs.push(testDb);
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-redact-'));
  dataDirs.push(dataDir);
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
  children.push(started);
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

  it('logs no password, session secret, CSRF token or personal token, whatever the outcome', {
    timeout: 60_000,
  }, async () => {
    const server = await startServer();
    const banner = /owner email\s+(\S+)\n\s+password\s+(\S+)/.exec(server.output());
    expect(banner).not.toBeNull();
    const [, email, password] = banner as unknown as [string, string, string];
    const json = { 'content-type': 'application/json' };
    const signIn = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.base}/api/v1/session`, {
        method: 'POST',
        headers: { ...json, ...headers },
        body: JSON.stringify(body),
      });
    const wrong = `${password}-wrong`;
    expect((await signIn({ email, password: wrong })).status).toBe(401);
    expect((await signIn({ email, password: 'x'.repeat(2000) })).status).toBe(400);
    const ok = await signIn({ email, password });
    expect(ok.status).toBe(200);
    const okBody = (await ok.json()) as { csrfToken: string };
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const session = { cookie, 'x-csrf-token': okBody.csrfToken, ...json };
    // The printed password must be replaced first; the session that replaces it stays signed in.
    const newPassword = 'a new and long passphrase';
    const changed = await fetch(`${server.base}/api/v1/me/password`, {
      method: 'PUT',
      headers: session,
      body: JSON.stringify({ currentPassword: password, newPassword }),
    });
    expect(changed.status).toBe(204);
    const pat = await fetch(`${server.base}/api/v1/tokens`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ name: 'logs' }),
    });
    const { token } = (await pat.json()) as { token: string };
    expect((await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${server.base}/api/v1/projects?token=${token}`, { headers: { cookie } })).status).toBe(200);
    const again = await signIn({ email, password: newPassword });
    const { csrfToken: csrfAgain } = (await again.json()) as { csrfToken: string };
    const cookieAgain = (again.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const created = await fetch(`${server.base}/api/v1/users`, {
      method: 'POST',
      headers: { cookie: cookieAgain, 'x-csrf-token': csrfAgain, ...json },
      body: JSON.stringify({ email: 'second@example.com', password: 'short' }),
    });
    expect(created.status).toBe(400);
    await server.stop();

    const logs = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(logs.length).toBeGreaterThan(5);
    const secrets = [
      password,
      wrong,
      'x'.repeat(2000),
      newPassword,
      cookie.split('=')[1] as string,
      okBody.csrfToken,
      token,
    ];
    for (const secret of secrets) expect(logs.filter((line) => line.includes(secret))).toEqual([]);
    expect(logs.filter((line) => line.includes('scrypt$'))).toEqual([]);
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
      for (const path of [
        `/sdk/v1/ruleset?key=${token}`,
        `/sdk/v1/ruleset?token=${token}`,
        `/api/v1/nowhere?key=${token}`,
      ]) {
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
    // Served (200), refused (401, 403) and unknown API routes (404; other paths are the console's) all went through the logger.
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

  it('logs no password, session secret, CSRF token or personal token, whatever the outcome', {
    timeout: 60_000,
  }, async () => {
    const server = await startServer();
    const banner = /owner email\s+(\S+)\n\s+password\s+(\S+)/.exec(server.output());
    expect(banner).not.toBeNull();
    const [, email, password] = banner as unknown as [string, string, string];
    const json = { 'content-type': 'application/json' };
    const signIn = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.base}/api/v1/session`, {
        method: 'POST',
        headers: { ...json, ...headers },
        body: JSON.stringify(body),
      });
    const wrong = `${password}-wrong`;
    expect((await signIn({ email, password: wrong })).status).toBe(401);
    expect((await signIn({ email, password: 'x'.repeat(2000) })).status).toBe(400);
    const ok = await signIn({ email, password });
    expect(ok.status).toBe(200);
    const okBody = (await ok.json()) as { csrfToken: string };
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const session = { cookie, 'x-csrf-token': okBody.csrfToken, ...json };
    // The printed password must be replaced first; the session that replaces it stays signed in.
    const newPassword = 'a new and long passphrase';
    const changed = await fetch(`${server.base}/api/v1/me/password`, {
      method: 'PUT',
      headers: session,
      body: JSON.stringify({ currentPassword: password, newPassword }),
    });
    expect(changed.status).toBe(204);
    const pat = await fetch(`${server.base}/api/v1/tokens`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ name: 'logs' }),
    });
    const { token } = (await pat.json()) as { token: string };
    expect((await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${server.base}/api/v1/projects?token=${token}`, { headers: { cookie } })).status).toBe(200);
    const again = await signIn({ email, password: newPassword });
    const { csrfToken: csrfAgain } = (await again.json()) as { csrfToken: string };
    const cookieAgain = (again.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const created = await fetch(`${server.base}/api/v1/users`, {
      method: 'POST',
      headers: { cookie: cookieAgain, 'x-csrf-token': csrfAgain, ...json },
      body: JSON.stringify({ email: 'second@example.com', password: 'short' }),
    });
    expect(created.status).toBe(400);
    await server.stop();

    const logs = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(logs.length).toBeGreaterThan(5);
    const secrets = [
      password,
      wrong,
      'x'.repeat(2000),
      newPassword,
      cookie.split('=')[1] as string,
      okBody.csrfToken,
      token,
    ];
    for (const secret of secrets) expect(logs.filter((line) => line.includes(secret))).toEqual([]);
    expect(logs.filter((line) => line.includes('scrypt$'))).toEqual([]);
  });
});
