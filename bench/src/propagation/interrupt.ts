/**
 * Last-resort clean-up when the run is cut short (Ctrl-C, SIGTERM, or its own deadline): the
 * registered tasks run (each bounded) and the process exits; servers still running are killed
 * by the exit hook in server-process.ts.
 */
const tasks = new Set<() => Promise<void>>();
let installed = false;
let interrupted = false;

/** Runs `task` if the bench is interrupted before the returned function is called. */
export function onInterrupt(task: () => Promise<void>): () => void {
  if (!installed) {
    installed = true;
    process.once('SIGINT', () => void interrupt('interrupted (SIGINT)', 130));
    process.once('SIGTERM', () => void interrupt('terminated (SIGTERM)', 143));
  }
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Ends the process after the registered clean-ups; for signals and for a run past its deadline. */
export async function interrupt(reason: string, exitCode: number): Promise<never> {
  if (!interrupted) {
    interrupted = true;
    process.stderr.write(`propagation: ${reason}; cleaning up\n`);
    const bounded = (task: () => Promise<void>) =>
      Promise.race([task(), new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref())]);
    await Promise.allSettled([...tasks].map(bounded));
  }
  process.exit(exitCode);
}
