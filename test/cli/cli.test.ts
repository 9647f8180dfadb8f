import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveServer, startLiveServer } from '../sdk-node/support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'packages/cli/src/main.ts');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let live: LiveServer;
let home: string;

/** The CLI as a child process (from its sources through tsx), with its own config directory. */
function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', main, ...args],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), ...env },
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

const configFile = () => join(home, 'config', 'switchyard', 'config.json');

beforeAll(async () => {
  live = await startLiveServer();
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
});

afterAll(async () => {
  await live?.s.close();
  if (home) await rm(home, { recursive: true, force: true });
});

// Each command is a child process starting Node and tsx: seconds each on a busy machine.
describe('switchyard CLI against a live server', { timeout: 60_000 }, () => {
  it('refuses to work before login with a usage error naming login', async () => {
    const r = await cli(['flags', 'list', '--project', 'web']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not logged in');
    expect(r.stderr).toContain('switchyard login');
  });

  it('answers usage errors with 2 and --help with 0 and the exit codes', async () => {
    expect((await cli(['flags', 'frobnicate'])).code).toBe(2);
    expect((await cli(['flags', 'kill', 'x', '--env', 'prod'])).code).toBe(2); // --reason is required
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/3 +not found/);
    expect(help.stdout).toMatch(/7 +server unavailable/);
  });

  it('refuses a wrong token at login with 5 and writes nothing', async () => {
    const r = await cli(['login', '--url', live.url, '--token', 'sy_admin_wrong']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('UNAUTHORIZED');
    await expect(stat(configFile())).rejects.toThrow();
  });

  it('logs in with the token on stdin and stores it with mode 0600 in a 0700 directory', async () => {
    const r = await cli(['login', '--url', live.url, '--project', 'web'], {}, `${live.s.adminToken}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const st = await stat(configFile());
    expect(st.mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'config', 'switchyard'))).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(await readFile(configFile(), 'utf8'));
    expect(stored).toEqual({ url: live.url, token: live.s.adminToken, project: 'web' });
  });

  it('creates, rolls out to 10 %, kills with a reason, and the audit tail shows the kill', async () => {
    const created = await cli(['flags', 'create', 'search-v2', '--name', 'Search v2', '--tag', 'search']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);

    const rollout = await cli(['flags', 'rollout', 'search-v2', '--env', 'prod', '--percent', '10', '--json']);
    expect(rollout.code).toBe(0);
    const config = JSON.parse(rollout.stdout);
    expect(config.enabled).toBe(true);
    expect(config.defaultServe).toEqual({
      rollout: {
        weights: [
          { variant: 'on', weight: 10_000 },
          { variant: 'off', weight: 90_000 },
        ],
      },
    });

    const list = await cli(['flags', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^KEY +NAME +TAGS +PROD$/m);
    expect(list.stdout).toMatch(/^search-v2 +Search v2 +search +on$/m);

    const kill = await cli(['flags', 'kill', 'search-v2', '--env', 'prod', '--reason', 'error rate up']);
    expect(kill.code).toBe(0);
    expect(kill.stdout).toContain('killed search-v2 in prod');

    const tail = await cli(['audit', 'tail', '-n', '5']);
    expect(tail.code).toBe(0);
    expect(tail.stdout).toMatch(/flag\.kill +flag search-v2 +error rate up$/m);

    const tailJson = await cli(['audit', 'tail', '-n', '1', '--json']);
    const page = JSON.parse(tailJson.stdout);
    expect(page.items[0]).toMatchObject({ action: 'flag.kill', targetKey: 'search-v2', reason: 'error rate up' });

    const get = JSON.parse((await cli(['flags', 'get', 'search-v2', '--json'])).stdout);
    expect(get.environments.prod.enabled).toBe(false);
    expect(get.tags).toEqual(['search']);

    const revive = await cli(['flags', 'revive', 'search-v2', '--env', 'prod', '--reason', 'fixed']);
    expect(revive.code).toBe(0);
    const afterRevive = JSON.parse((await cli(['flags', 'get', 'search-v2', '--env', 'prod', '--json'])).stdout);
    expect(afterRevive.environments.prod.enabled).toBe(true);
    expect(afterRevive.environments.prod.defaultServe.rollout.weights[0]).toEqual({ variant: 'on', weight: 10_000 });

    const byTag = JSON.parse(
      (await cli(['kill', '--tag', 'search', '--env', 'prod', '--reason', 'search incident', '--json'])).stdout,
    );
    expect(byTag.killed).toEqual(['search-v2']);
  }, 180_000);

  it("audit tail --follow prints the project's new entries from its change stream as they are written", async () => {
    // Polling every ten minutes: what is printed within seconds came through the stream.
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', main, 'audit', 'tail', '-n', '1', '--follow', '--interval', '600000'],
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config') } },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const until = async (what: RegExp) => {
      const deadline = Date.now() + 30_000;
      while (!what.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${what} in: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await until(/^TIME +ID +ACTOR +ACTION/m);
      await live.ok('PATCH', '/api/v1/projects/web/flags/search-v2', { description: 'followed live' });
      await live.ok('POST', '/api/v1/projects/web/flags/search-v2/environments/prod/unkill', { reason: 'streamed' });
      await until(/flag\.unkill +flag search-v2 +streamed$/m);
      expect(out).toMatch(/flag\.update +flag search-v2/);
      expect(out.indexOf('flag.update')).toBeLessThan(out.indexOf('flag.unkill'));
    } finally {
      child.kill();
    }
  });

  it('creates a string flag with variants and shows them', async () => {
    const r = await cli([
      'flags',
      'create',
      'banner',
      '--name',
      'Banner',
      '--type',
      'string',
      '--variant',
      'red=#f00',
      '--variant',
      'blue=#00f',
    ]);
    expect(r.code).toBe(0);
    const get = await cli(['flags', 'get', 'banner']);
    expect(get.stdout).toContain('red="#f00"');
    const rollout = JSON.parse(
      (await cli(['flags', 'rollout', 'banner', '--env', 'prod', '--percent', '12.5', '--json'])).stdout,
    );
    expect(rollout.defaultServe.rollout.weights).toEqual([
      { variant: 'red', weight: 12_500 },
      { variant: 'blue', weight: 87_500 },
    ]);
  }, 60_000);

  it('shows, starts, pauses and aborts a release plan; 3 without a plan, 4 for a step its state refuses', async () => {
    const flag = '/api/v1/projects/web/flags/plan-me';
    await live.ok('POST', '/api/v1/projects/web/flags', { key: 'plan-me', name: 'Plan me', type: 'boolean' });
    const env = ['plan-me', '--env', 'prod'];
    const none = await cli(['plans', 'status', ...env]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('NOT_FOUND');

    // Stages an hour long: the server's controller never advances the plan during the test.
    await live.ok('PUT', `${flag}/environments/prod/release-plan`, {
      variant: 'on',
      stages: [
        { percent: 10, holdSeconds: 3600 },
        { percent: 100, holdSeconds: 3600 },
      ],
    });
    const draft = await cli(['plans', 'status', ...env]);
    expect(draft.code).toBe(0);
    expect(draft.stdout).toMatch(/^state: +draft$/m);
    expect(draft.stdout).toMatch(/^releases: +on \(the rest get off\)$/m);
    expect(draft.stdout).toMatch(/^ +1 +10% +3600s/m);

    const early = await cli(['plans', 'pause', ...env]);
    expect(early.code).toBe(4);
    expect(early.stderr).toContain('CONFLICT');

    const started = await cli(['plans', 'start', ...env, '--reason', 'first users', '--json']);
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ state: 'running', stage: { number: 1, percent: 10 } });
    const config = (await live.ok('GET', `${flag}/environments/prod`)) as {
      defaultServe: { rollout: { weights: unknown[] } };
    };
    expect(config.defaultServe.rollout.weights[0]).toEqual({ variant: 'on', weight: 10_000 });

    const paused = await cli(['plans', 'pause', ...env]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^state: +paused$/m);
    expect(paused.stdout).toMatch(/^> 1 +10%/m);
    const history = (await cli(['plans', 'status', ...env])).stdout;
    expect(history).toMatch(/ start +running +1 +first users$/m);
    expect(history).toMatch(/ pause +paused +1 /m);

    const aborted = JSON.parse((await cli(['plans', 'abort', ...env, '--json'])).stdout);
    expect(aborted.state).toBe('aborted');
    const again = await cli(['plans', 'start', ...env]);
    expect(again.code).toBe(4);
  }, 120_000);

  it('prints results per variant and against the control; 3 for a metric that does not exist', async () => {
    await live.ok('POST', '/api/v1/projects/web/flags', { key: 'tested', name: 'Tested', type: 'boolean' });
    await live.ok('POST', '/api/v1/projects/web/metrics', {
      key: 'clicked',
      event: 'click',
      kind: 'conversion',
      direction: 'increase',
    });
    const env = ['tested', '--env', 'prod', '--metric', 'clicked'];
    const empty = await cli(['results', ...env]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^status: not-enough-data \(needs 100 units per variant\)$/m);

    // 200 units a variant: every third clicks under "on", every fifth under "off".
    const { token } = await live.key();
    const t = Date.now();
    const exposures = [];
    const events = [];
    for (let i = 0; i < 400; i++) {
      const variant = i % 2 === 0 ? 'on' : 'off';
      exposures.push({ flag: 'tested', variant, key: `u${i}`, timestamp: t });
      if (i % (variant === 'on' ? 3 : 5) === 0) events.push({ event: 'click', key: `u${i}`, timestamp: t + 1 });
    }
    const sent = await fetch(`${live.url}/sdk/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ window: { start: t, end: t + 1 }, exposures, events }),
    });
    expect(sent.status).toBe(202);

    const json = JSON.parse((await cli(['results', ...env, '--json'])).stdout);
    expect(json.status).toBe('ready');
    const units = Object.fromEntries(
      json.variants.map((v: { variant: string; units: number }) => [v.variant, v.units]),
    );
    expect(units).toEqual({ on: 200, off: 200 });
    const table = await cli(['results', ...env]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/control off$/m);
    expect(table.stdout).toMatch(/^on +200 +67 +0\.335/m);
    expect(table.stdout).toMatch(/^off +200 +40 +0\.2/m);
    expect(table.stdout).toMatch(/^on +off +0\.135 +\[/m);

    const unknown = await cli(['results', 'tested', '--env', 'prod', '--metric', 'nope']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('nope');
  }, 120_000);

  it('answers 3 for a flag that does not exist', async () => {
    const r = await cli(['flags', 'get', 'no-such-flag']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('NOT_FOUND');
  });

  it('answers 4 for a flag that exists already', async () => {
    const r = await cli(['flags', 'create', 'search-v2', '--name', 'again']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('CONFLICT');
  });

  it('answers 6 for input the server refuses, naming the field at fault', async () => {
    const r = await cli(['flags', 'create', 'Bad Key!', '--name', 'x']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('VALIDATION_FAILED');
    expect(r.stderr).toMatch(/field: key/);
    const tag = await cli(['flags', 'create', 'good-key', '--name', 'x', '--tag', 'UPPER']);
    expect(tag.code).toBe(6);
    expect(tag.stderr).toMatch(/field: tags\[0\]/);
  });

  it('answers 5 when the environment overrides the token with a refused one', async () => {
    const r = await cli(['flags', 'list'], { SWITCHYARD_TOKEN: 'sy_admin_nope' });
    expect(r.code).toBe(5);
  });

  it('answers 7 when nothing listens at the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await cli(['flags', 'list'], { SWITCHYARD_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('cannot reach');
  });

  it('answers 7 when the server answers 5xx', async () => {
    const down = createHttpServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as { port: number }).port;
    try {
      const r = await cli(['flags', 'list'], { SWITCHYARD_URL: `http://127.0.0.1:${port}` });
      expect(r.code).toBe(7);
      expect(r.stderr).toContain('503');
    } finally {
      await new Promise((resolve) => down.close(resolve));
    }
  });
});
