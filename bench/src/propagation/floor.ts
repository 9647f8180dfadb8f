import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monotonicMs } from './client-protocol.js';
import { processCpuMs, processRssKiB } from './server-process.js';

const FLOOR_MAIN = fileURLToPath(new URL('./floor-process.js', import.meta.url));

/** The plain-socket floor process (floor-process.ts), seen from the bench. */
export interface FloorProcess {
  readonly port: number;
  /** Has the floor write one patch of `bytes` bytes to every socket; returns when the order was sent. */
  flip(version: number, enabled: boolean, bytes: number): number;
  cpuMs(): Promise<number>;
  /** RSS after two full garbage collections in the floor. */
  collectedRssKiB(): Promise<number>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startFloor(timeoutMs: number): Promise<FloorProcess> {
  const child = fork(FLOOR_MAIN, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  const answer = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`the floor process did not answer "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: { type: string } & T) => {
        if (m.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
    });
  let port: number;
  try {
    port = (await answer<{ port: number }>('listening')).port;
  } catch (err) {
    await stop();
    throw err;
  }
  const pid = child.pid as number;
  return {
    port,
    flip: (version, enabled, bytes) => {
      const sentAt = monotonicMs();
      child.send({ type: 'flip', version, enabled, bytes });
      return sentAt;
    },
    cpuMs: () => processCpuMs(pid),
    collectedRssKiB: async () => {
      const done = answer('gc done');
      child.send({ type: 'gc' });
      await done;
      return processRssKiB(pid);
    },
    stop,
  };
}
