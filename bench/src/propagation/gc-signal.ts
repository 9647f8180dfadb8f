/** The line a server prints on stderr once the garbage collection asked for by SIGUSR2 is done. */
export const GC_DONE = 'switchyard-bench: gc done';
