import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { GC_DONE } from './gc-signal.js';

/** The built server; `pnpm bench` builds it first. */
export const SERVER_MAIN = fileURLToPath(new URL('../../../packages/server/dist/main.js', import.meta.url));
const GC_HOOK = new URL('./gc-on-signal.js', import.meta.url).href;

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ServerOptions {
  /** Variables on top of the bench's own environment (PORT and HOST are set here). */
  readonly env: Readonly<Record<string, string>>;
  readonly readyTimeoutMs: number;
  /** When set, the server writes a V8 CPU profile into this folder when it exits. */
  readonly cpuProfileDir?: string | undefined;
}

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  /** Resident memory of the server process, from /proc/<pid>/status. */
  rssKiB(): Promise<number>;
  /** Runs a full garbage collection in the server and waits for it to finish. */
  collectGarbage(): Promise<void>;
  /** CPU time the server process used so far (user + system), from /proc/<pid>/stat. */
  cpuMs(): Promise<number>;
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// Whatever way the bench ends, no server outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node packages/server/dist/main.js` on a free loopback port and waits for /readyz. */
export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  if (!existsSync(SERVER_MAIN)) {
    throw new Error(`${SERVER_MAIN} is missing: build the server (pnpm --filter @switchyard/server build)`);
  }
  const port = await freePort();
  const nodeArgs = ['--expose-gc', '--import', GC_HOOK];
  if (options.cpuProfileDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  const child = spawn(process.execPath, [...nodeArgs, SERVER_MAIN], {
    env: { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  // The last lines the server printed, to explain a failed start.
  const output: string[] = [];
  let onGcDone: (() => void) | undefined;
  const keep = (chunk: Buffer) => {
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    if (lines.includes(GC_DONE)) onGcDone?.();
    output.push(...lines.filter((l) => l !== GC_DONE));
    output.splice(0, Math.max(0, output.length - 20));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitReady(port, options.readyTimeoutMs, () => child.exitCode !== null || child.signalCode !== null);
  } catch (err) {
    await stop();
    const tail = output.length === 0 ? '' : `\n${output.join('\n')}`;
    throw new Error(`the server did not start: ${(err as Error).message}${tail}`);
  }
  const pid = child.pid as number;
  return {
    pid,
    port,
    rssKiB: () => processRssKiB(pid),
    collectGarbage: () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not collect garbage within 10 s')), 10_000);
        onGcDone = () => {
          clearTimeout(timer);
          onGcDone = undefined;
          resolve();
        };
        child.kill('SIGUSR2');
      }),
    cpuMs: () => processCpuMs(pid),
    stop,
  };
}

/** Resident memory of a process, from /proc/<pid>/status. */
export async function processRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb);
}

/** CPU time a process used so far (user + system, all its threads), from /proc/<pid>/stat. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

async function waitReady(port: number, timeoutMs: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error('it exited');
    if ((await statusOf(port, '/readyz')) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms`);
}

function statusOf(port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** A port the kernel just handed out and released; the server binds it a moment later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
