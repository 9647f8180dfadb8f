/**
 * Loaded into each server process by the propagation bench (`node --expose-gc --import …`): on
 * SIGUSR2 the server runs a full garbage collection and says so on stderr, so that the bench
 * reads the memory the server holds rather than the garbage a burst of connections left. The
 * server's own code is untouched.
 */
import { GC_DONE } from './gc-signal.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('gc-on-signal needs node --expose-gc');

process.on('SIGUSR2', () => {
  // Two full collections: V8 gives back to the system some of what the first one freed only
  // on the next one, and a single collection leaves RSS several MiB higher, at random.
  gc();
  gc();
  process.stderr.write(`${GC_DONE}\n`);
});
