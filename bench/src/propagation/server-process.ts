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
  /** When set, the server writes a V8 CPU profile into this folder when it exits (each worker its own). */
  readonly cpuProfileDir?: string | undefined;
  /** `SWITCHYARD_WORKERS`: above 1, the server is a cluster primary and its workers serve the port. */
  readonly workers?: number;
}

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  /** Resident memory of the server's processes (with workers, the primary's and theirs), from /proc/<pid>/status. */
  rssKiB(): Promise<number>;
  /** Runs a full garbage collection in every process of the server and waits for them to finish. */
  collectGarbage(): Promise<void>;
  /** CPU time the server's processes used so far (user + system), from /proc/<pid>/stat. */
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
  // A cluster's workers inherit the primary's Node options: each loads the GC hook, and profiles.
  const workers = options.workers ?? 1;
  const child = spawn(process.execPath, [...nodeArgs, SERVER_MAIN], {
    env: {
      ...process.env,
      ...options.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(workers > 1 ? { SWITCHYARD_WORKERS: String(workers) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  // The last lines the server printed, to explain a failed start.
  const output: string[] = [];
  let onGcDone: (() => void) | undefined;
  // The first worker answers /readyz before the others listen: a cluster is ready when its primary says so.
  let allListening = workers === 1;
  const keep = (chunk: Buffer) => {
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    for (const line of lines) if (line === GC_DONE) onGcDone?.();
    if (lines.some((line) => line.includes(`${workers} workers ready in`))) allListening = true;
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
    const gone = () => child.exitCode !== null || child.signalCode !== null;
    await waitReady(port, options.readyTimeoutMs, gone);
    const deadline = Date.now() + options.readyTimeoutMs;
    while (!allListening) {
      if (gone() || Date.now() > deadline) throw new Error(`not all ${workers} workers listened`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    await stop();
    const tail = output.length === 0 ? '' : `\n${output.join('\n')}`;
    throw new Error(`the server did not start: ${(err as Error).message}${tail}`);
  }
  const pid = child.pid as number;
  // Workers the primary forked: at most `workers` of them, the same ones for the whole run
  // unless one dies.
  const tree = async () => (workers > 1 ? [pid, ...(await childPids(pid))] : [pid]);
  // A worker that exits between the listing and the read counts as 0 here; its CPU time then
  // moves to the primary's count of reaped children, which cpuMs includes.
  const sum = async (read: (pid: number) => Promise<number>) =>
    (await Promise.all((await tree()).map((p) => (p === pid ? read(p) : read(p).catch(() => 0))))).reduce(
      (a, b) => a + b,
      0,
    );
  return {
    pid,
    port,
    rssKiB: () => sum(processRssKiB),
    collectGarbage: async () => {
      const pids = await tree();
      await new Promise<void>((resolve, reject) => {
        let left = pids.length;
        const timer = setTimeout(() => reject(new Error('the server did not collect garbage within 10 s')), 10_000);
        const done = () => {
          if (--left > 0) return;
          clearTimeout(timer);
          onGcDone = undefined;
          resolve();
        };
        onGcDone = done;
        for (const p of pids) {
          try {
            process.kill(p, 'SIGUSR2');
          } catch {
            // A worker gone since the listing collects nothing and says nothing.
            done();
          }
        }
      });
    },
    cpuMs: () => sum((p) => processCpuMs(p, p === pid && workers > 1)),
    stop,
  };
}

/** The processes a process started and has not yet seen exit, from /proc/<pid>/task/<pid>/children. */
async function childPids(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return children.split(' ').filter(Boolean).map(Number);
}

/** Resident memory of a process, from /proc/<pid>/status. */
export async function processRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb);
}

/**
 * CPU time a process used so far (user + system, all its threads), from /proc/<pid>/stat; with
 * `withReapedChildren`, also that of the children it has waited for (a cluster's dead workers).
 */
export async function processCpuMs(pid: number, withReapedChildren = false): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime; then cutime and cstime, the time of the children it has waited for.
  const ticks =
    Number(fields[11]) + Number(fields[12]) + (withReapedChildren ? Number(fields[13]) + Number(fields[14]) : 0);
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
