/**
 * What the stream tells the client, passed to {@link follow} as separate callbacks rather than
 * one object: parameters minify to one letter, an object's method names would stay in the bundle.
 */
export interface StreamHandlers {
  /** The server accepted the stream. */
  open(): void;
  /** One event; returns whether it was applied, so that the stream may resume after it. */
  event(type: string, data: string): boolean;
  /** The stream failed or ended; it is opened again after a backoff. */
  lost(): void;
  /** The server refused the key (401/403): nothing more is attempted. */
  refused(status: number): void;
}

/**
 * Follows the server's Server-Sent Events (`put` and `patch`) with the browser's `EventSource`,
 * which parses them natively and, holding the key in its URL, needs no CORS preflight.
 *
 * Reconnection is ours, not `EventSource`'s, which would retry at a fixed delay and give up for
 * good on any HTTP error. On an error the source is closed, and, since `EventSource` hides the
 * status, one `HEAD` of `probeUrl` (the ruleset) tells a refused key (401/403: stop) from an
 * outage. Then it waits an exponential backoff with full jitter, a uniform time below a ceiling
 * that doubles per failure (so that pages do not all reconnect in step after an outage); a
 * stream that lived a minute starts the backoff over. Each new source resumes from the id of the
 * last event applied, in the query (`EventSource` cannot set the header), so that nothing is
 * missed. Comment heartbeats never reach script, so there is no stall detector here: a dead
 * connection is the browser's to notice. Returns a function that stops for good.
 */
export function follow(
  url: string,
  probeUrl: string,
  open: StreamHandlers['open'],
  event: StreamHandlers['event'],
  lost: StreamHandlers['lost'],
  refused: StreamHandlers['refused'],
  initialMs = 1e3,
  maxMs = 3e4,
): () => void {
  let live: EventSource | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  /** Empty before any: the server then sends a fresh `put`. */
  let lastEventId = '';

  const connect = () => {
    // Ids are versions, digits only.
    const source = new EventSource(`${url}&lastEventId=${lastEventId}`);
    let openedAt = 0;
    live = source;
    source.onopen = () => {
      openedAt = Date.now();
      open();
    };
    for (const type of ['put', 'patch']) {
      source.addEventListener(type, (e) => {
        // A listener may have stopped the client during an earlier event.
        if (live === source && event(type, e.data) && e.lastEventId) lastEventId = e.lastEventId;
      });
    }
    source.onerror = () => {
      source.close();
      fetch(probeUrl, { method: 'HEAD' })
        .then(
          (res) => res.status,
          () => undefined,
        )
        .then((status) => {
          if (live !== source) return;
          live = undefined;
          if (status === 401 || status === 403) return refused(status);
          if (openedAt && Date.now() - openedAt > 6e4) failures = 0;
          retryTimer = setTimeout(connect, Math.random() * Math.min(maxMs, initialMs * 2 ** failures++));
          lost();
        });
    };
  };

  connect();
  return () => {
    clearTimeout(retryTimer);
    live?.close();
    live = undefined;
  };
}
