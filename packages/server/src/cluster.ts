import cluster, { type Worker } from 'node:cluster';

export interface Supervision {
  /** Progress for a person watching the terminal. */
  say(line: string): void;
  /** Called once, when the first worker listens, with the port they share: the server answers from then on. */
  onListening(port: number): void;
  /** Called once, when as many workers as asked for are listening at the same time. */
  onReady(port: number): void;
}

/** How long a worker must live for its death not to count towards a crash loop. */
const SETTLED_MS = 10_000;
/**
 * Workers dying one after another before they settle, after which the primary gives up: at least
 * this many, and at least one per worker, so that a few of many failing at once (a database
 * refusing connections past its limit) does not stop the rest.
 */
const CRASH_LOOP = 5;
/** Pause before a worker that died is replaced, so a failing dependency is not hammered. */
const REPLACE_AFTER_MS = 1000;
/** How long workers have to finish their shutdown before they are killed. */
const STOP_MS = 10_000;

/**
 * The cluster primary of `SWITCHYARD_WORKERS`: forks the workers, which all listen on the same
 * port (the primary hands connections out in turn), replaces a worker that dies, and stops them
 * all on SIGTERM or SIGINT. Each worker is a whole instance of the server; they reach each
 * other's streams through Redis exactly as separate instances do, so a change is ordered and
 * resumable the same way whichever worker a stream lands on. The primary itself holds no
 * connection to anything and serves nothing.
 */
export function superviseWorkers(count: number, supervision: Supervision): void {
  const { say } = supervision;
  const startedAt = new Map<Worker, number>();
  /** Workers alive and listening, by id. */
  const listening = new Set<number>();
  let quickDeaths = 0;
  let stopping = false;
  /** The primary's exit code once its workers are gone: 1 after a crash loop, or a worker that did not stop cleanly. */
  let exitCode = 0;
  let answering = false;
  let ready = false;

  const fork = () => startedAt.set(cluster.fork(), Date.now());

  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    if (!answering) {
      answering = true;
      supervision.onListening(address.port);
    }
    if (!ready && listening.size === count) {
      ready = true;
      supervision.onReady(address.port);
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    listening.delete(worker.id);
    if (stopping) {
      // A worker still starting has no handler yet, and the signal itself ends it: that is a stop as asked.
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') {
        say(`worker ${worker.process.pid} did not stop cleanly (${signal ?? `code ${code}`})`);
        exitCode = 1;
      }
      if (startedAt.size === 0) process.exit(exitCode);
      return;
    }
    quickDeaths = lived < SETTLED_MS ? quickDeaths + 1 : 0;
    if (quickDeaths >= Math.max(CRASH_LOOP, count)) {
      say(`${quickDeaths} workers in a row died within ${SETTLED_MS / 1000} s of starting; stopping`);
      exitCode = 1;
      stop();
      return;
    }
    say(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
    setTimeout(() => {
      if (!stopping) fork();
    }, REPLACE_AFTER_MS);
  });

  const stop = () => {
    stopping = true;
    if (startedAt.size === 0) process.exit(exitCode);
    for (const worker of startedAt.keys()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of startedAt.keys()) worker.process.kill('SIGKILL');
    }, STOP_MS).unref();
  };
  const onSignal = () => {
    if (!stopping) stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let i = 0; i < count; i++) fork();
}
