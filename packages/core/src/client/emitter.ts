/** Listener signatures by event name (an interface is fine: no index signature is needed). */
// biome-ignore lint/suspicious/noExplicitAny: listener signatures vary per event; `never[]` would reject them
type Listeners<Events> = { [E in keyof Events]: (...args: any[]) => void };

export interface Emitter<Events extends Listeners<Events>> {
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void;
  off<E extends keyof Events>(event: E, listener: Events[E]): void;
  /**
   * Calls every listener of `event`, in the order they were added, over a copy of the list (a
   * listener may remove itself). A listener that throws goes to `onListenerError` and the
   * others are still called: an application's bug must not stop the client's work.
   */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void;
}

/** The event emitter of both SDK clients. */
export function emitter<Events extends Listeners<Events>>(
  onListenerError: (error: unknown, event: keyof Events) => void,
): Emitter<Events> {
  const listeners: { [E in keyof Events]?: Set<Events[E]> } = {};
  const off = <E extends keyof Events>(event: E, listener: Events[E]) => {
    listeners[event]?.delete(listener);
  };
  return {
    on(event, listener) {
      // biome-ignore lint/suspicious/noAssignInExpressions: made on first use
      (listeners[event] ??= new Set()).add(listener);
      return () => off(event, listener);
    },
    off,
    emit(event, ...args) {
      for (const listener of [...(listeners[event] ?? [])]) {
        try {
          listener(...args);
        } catch (err) {
          onListenerError(err, event);
        }
      }
    },
  };
}
