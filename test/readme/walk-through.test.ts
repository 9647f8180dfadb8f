import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { fencedBlocks, isAssignment, ROOT, readmeSection, shellCommands } from './readme-blocks.js';

// Everything below runs what README.md says, taken from README.md: a changed command changes the test.
const quickStart = fencedBlocks(readmeSection('## Quick start', '## Browser SDK'));
const shellBlocks = quickStart.filter((b) => b.lang === 'sh');
const setup = shellCommands(shellBlocks[0]?.text ?? '');
const walkThrough = shellBlocks.slice(1).flatMap((b) => shellCommands(b.text));
const printedSample = quickStart.find((b) => b.lang === 'text')?.text ?? '';
const nodeSnippet = fencedBlocks(readmeSection('## Node SDK', '## Tests')).find((b) => b.lang === 'js')?.text ?? '';

const exportLine = /^\s*export ([A-Z_]+)=(\S+)/gm;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  // The README's default port would hide a command that spells out 4242 instead of using $BASE.
  return port === 4242 ? freePort() : port;
}

/** The environment of a child process: the test runner's, without what would steer it elsewhere. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['REDIS_URL', 'DATABASE_URL', 'PORT', 'SWITCHYARD_ADMIN_TOKEN', 'BASE', 'TOKEN']) delete env[name];
  return { ...env, ...extra };
}

/** Ends a process started with `detached`, and everything it started (pnpm → node, bash → curl). */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid, 'SIGTERM');
  return exited;
}

/**
 * Runs one README command in bash after the variable assignments before it. A stream (`until`)
 * is ended once its output matches; anything else must exit 0 on its own.
 */
function run(command: string, vars: Record<string, string>, prelude: string[], until?: RegExp): Promise<string> {
  const child = spawn('bash', ['-c', [...prelude, command].join('\n')], {
    cwd: ROOT,
    env: childEnv(vars),
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (until?.test(stdout)) void stop(child);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(child);
      reject(new Error(`timed out: ${command}\n${stdout}\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (until?.test(stdout) || code === 0) resolve(stdout);
      else reject(new Error(`exit ${code}: ${command}\n${stdout}\n${stderr}`));
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the commands answer whatever JSON the API sends.
type Json = any;

/** The SSE event `put` of a stream's output, parsed. */
function putEvent(output: string): Json {
  const data = /event: put\n(?:id: .*\n)?data: (.*)\n/.exec(output)?.[1];
  if (data === undefined) throw new Error(`no put event in:\n${output}`);
  return JSON.parse(data);
}

const putReceived = /event: put\n(?:id: .*\n)?data: .*\n/;

/** What each walk-through command must do, in the README's order, found by what it runs. */
const expectations: { command: RegExp; until?: RegExp; check(output: string): void }[] = [
  {
    command: /-X POST \$API\/flags /,
    check: (out) => expect(JSON.parse(out)).toMatchObject({ key: 'search-v2', type: 'boolean', tags: ['search'] }),
  },
  {
    command: /-X PATCH \$API\/flags\/search-v2\/environments\/production /,
    check: (out) =>
      expect(JSON.parse(out)).toMatchObject({
        enabled: true,
        defaultServe: {
          rollout: {
            weights: [
              { variant: 'on', weight: 10000 },
              { variant: 'off', weight: 90000 },
            ],
          },
        },
      }),
  },
  {
    command: /\/sdk\/v1\/ruleset .*\$SERVER_KEY/,
    check: (out) =>
      expect((JSON.parse(out) as Json).flags).toContainEqual(
        expect.objectContaining({ key: 'search-v2', enabled: true }),
      ),
  },
  {
    command: /curl -N \$BASE\/sdk\/v1\/stream .*\$SERVER_KEY/,
    until: putReceived,
    check: (out) =>
      expect(putEvent(out).flags).toContainEqual(expect.objectContaining({ key: 'search-v2', enabled: true })),
  },
  {
    command: /\/sdk\/v1\/stream\?key=\$CLIENT_KEY/,
    until: putReceived,
    check: (out) => {
      // search-v2 is not clientSide; the demo project's new-checkout is.
      const keys = (putEvent(out).flags as { key: string }[]).map((f) => f.key);
      expect(keys).toEqual(['new-checkout']);
    },
  },
  {
    command: /search-v2\/environments\/production\/kill /,
    check: (out) => expect(JSON.parse(out)).toMatchObject({ flag: 'search-v2', enabled: false, changed: true }),
  },
  {
    command: /search-v2\/environments\/production\/unkill /,
    check: (out) => expect(JSON.parse(out)).toMatchObject({ flag: 'search-v2', enabled: true, changed: true }),
  },
  {
    command: /\$API\/environments\/production\/kill .*"tag": "search"/,
    check: (out) => expect(JSON.parse(out)).toMatchObject({ tag: 'search', killed: ['search-v2'] }),
  },
  {
    command: /\/api\/v1\/audit\?project=demo/,
    check: (out) => {
      const items = (JSON.parse(out) as Json).items as { action: string; targetKey: string; reason: string }[];
      expect(items.slice(0, 3)).toMatchObject([
        { action: 'flag.kill', targetKey: 'search-v2', reason: 'search incident' },
        { action: 'flag.unkill', targetKey: 'search-v2', reason: 'fixed in the next deploy' },
        { action: 'flag.kill', targetKey: 'search-v2', reason: 'error rate up after deploy' },
      ]);
    },
  },
];

let server: ChildProcess;
let serverOutput = '';
let database: TestDatabase | undefined;
let dataDir: string | undefined;
/** The variables the first start printed, as the README has the reader paste them. */
const vars: Record<string, string> = {};
let port: number;

beforeAll(async () => {
  port = await freePort();
  const env: Record<string, string> = { PORT: String(port), LOG_LEVEL: 'warn' };
  // A scratch Postgres database where CI has one; else the embedded database, as a user gets it.
  if (process.env.DATABASE_URL) {
    database = await createTestDatabase();
    env.DATABASE_URL = database.url as string;
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-readme-'));
    env.SWITCHYARD_DATA_DIR = dataDir;
  }
  expect(setup, 'the first block of the quick start').toEqual(['pnpm install', 'pnpm start']);
  // `pnpm install` already ran: this test runs inside the installed workspace.
  server = spawn('pnpm', ['start'], { cwd: ROOT, env: childEnv(env), detached: true });
  server.stdout?.on('data', (chunk: Buffer) => {
    serverOutput += chunk.toString();
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    serverOutput += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (/switchyard: ready in/.test(serverOutput)) done(undefined);
    }, 100);
    const done = (err: Error | undefined) => {
      clearInterval(check);
      server.off('exit', exited);
      err === undefined ? resolve() : reject(err);
    };
    const exited = (code: number | null) => done(new Error(`pnpm start exited (${code}):\n${serverOutput}`));
    server.once('exit', exited);
  });
  for (const [, name, value] of serverOutput.matchAll(exportLine)) vars[name as string] = value as string;
}, 180_000);

afterAll(async () => {
  if (server !== undefined) await stop(server);
  await database?.drop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("the README's quick start, run against a freshly started server", () => {
  it('the first start prints, as export lines, the variables the README shows and uses', () => {
    const shown = [...printedSample.matchAll(exportLine)].map((m) => m[1]);
    expect(shown).toEqual(['BASE', 'TOKEN', 'SERVER_KEY', 'CLIENT_KEY']);
    expect(Object.keys(vars)).toEqual(shown);
    expect(vars.BASE).toBe(`http://127.0.0.1:${port}`);
    expect(vars.TOKEN).toMatch(/^sy_admin_/);
    expect(vars.SERVER_KEY).toMatch(/^sy_server_/);
    expect(vars.CLIENT_KEY).toMatch(/^sy_client_/);
    const used = new Set([...walkThrough.join('\n').matchAll(/\$\{?([A-Z_]+)/g)].map((m) => m[1]));
    const assigned = walkThrough.filter(isAssignment).map((c) => c.replace(/^export\s+/, '').split('=')[0]);
    for (const name of used) expect([...shown, ...assigned], `$${name} is defined`).toContain(name);
    expect(walkThrough.join('\n')).not.toContain('4242');
  });

  it('the first start says what it is doing while it prepares the database', () => {
    expect(serverOutput).toMatch(/switchyard: applying database migrations/);
    if (dataDir !== undefined) expect(serverOutput).toMatch(/creating the embedded PostgreSQL database/);
  });

  it('every command does what the README says it does, in order', async () => {
    const commands = walkThrough.filter((c) => !isAssignment(c));
    expect(commands.length, `the README's commands:\n${commands.join('\n')}`).toBe(expectations.length);
    const prelude: string[] = [];
    let expectation = 0;
    for (const command of walkThrough) {
      if (isAssignment(command)) {
        prelude.push(command);
        continue;
      }
      const expected = expectations[expectation++];
      expect(command).toMatch(expected?.command as RegExp);
      const output = await run(command, vars, prelude, expected?.until);
      try {
        expected?.check(output);
      } catch (err) {
        throw new Error(`${command}\nanswered ${output}\n${(err as Error).message}`);
      }
      if (expected === expectations[1])
        expect(await runNodeSnippet()).toMatch(/^search-v2 for user-42: (true|false) \(SPLIT\)$/m);
    }
    // The tag kill left search-v2 killed.
    expect(await runNodeSnippet()).toMatch(/^search-v2 for user-42: false \(DISABLED\)$/m);
  }, 120_000);

  it('the health and readiness endpoints the README lists answer as it says', async () => {
    expect(await (await fetch(`${vars.BASE}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${vars.BASE}/readyz`)).json()).toEqual({ status: 'ready' });
  });
});

/**
 * The README's Node SDK snippet, saved as `flags.mjs` in the repository's root as it says (the
 * `source` condition loads the SDK's sources, so a rebuild of its dist/ by another test cannot
 * race this one; test/sdk-node/package-builds.test.ts runs it on the built package).
 */
async function runNodeSnippet(): Promise<string> {
  const folder = mkdtempSync(join(ROOT, '.readme-snippet-'));
  try {
    writeFileSync(join(folder, 'flags.mjs'), nodeSnippet);
    return await run('node --conditions=source --import tsx flags.mjs', vars, [`cd ${folder}`]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
