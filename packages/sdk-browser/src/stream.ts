/** What the stream tells the client. */
export interface StreamHandlers {
  /** The server accepted the stream; `resumedFrom` is set when it was asked to send only what was missed. */
  open(resumedFrom: string | undefined): void;
  /** One event; returns whether it was applied, so that the stream may resume after it. */
  event(type: string, data: string): boolean;
  /** The stream failed, ended or went silent; it is opened again after a backoff. */
  lost(code: 'STREAM_FAILED' | 'STREAM_STALLED', message: string, status?: number): void;
  /** The server refused the key (401/403): nothing more is attempted. */
  refused(status: number): void;
}

/**
 * Follows the server's Server-Sent Events over a streaming `fetch`, not `EventSource`:
 * `EventSource` cannot send `Last-Event-ID` on a connection it did not reconnect itself, and hides
 * the HTTP status, so a refused key would look like a network error forever.
 *
 * Every reconnection resumes from the id of the last event applied (ids are versions, and only
 * the last event of a version carries one, so a resumed stream never skips half a version). It
 * waits an exponential backoff with full jitter, a uniform time below a ceiling that doubles per
 * failure (so that pages do not all reconnect in step after an outage); the server's `retry:`
 * replaces the first ceiling, and a stream that lived a minute starts the backoff over. A stream
 * silent past `stallMs` (the server sends a heartbeat every 15 s) is dropped and reconnected.
 * Returns a function that stops for good.
 */
export function follow(url: string, h: StreamHandlers, initialMs = 1e3, maxMs = 3e4, stallMs = 45e3): () => void {
  let live: AbortController | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let lastEventId: string | undefined;

  const connect = () => {
    const c = new AbortController();
    const from = lastEventId;
    let openedAt = 0;
    live = c;
    const end = (code: 'STREAM_FAILED' | 'STREAM_STALLED', message: string, status?: number) => {
      if (live !== c) return;
      live = undefined;
      clearTimeout(stallTimer);
      c.abort();
      if (status === 401 || status === 403) return h.refused(status);
      if (openedAt && Date.now() - openedAt > 6e4) failures = 0;
      retryTimer = setTimeout(connect, Math.random() * Math.min(maxMs, initialMs * 2 ** failures++));
      h.lost(code, message, status);
    };
    const alive = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(end, stallMs, 'STREAM_STALLED', 'stream silent');
    };
    alive();
    fetch(url, { headers: from ? { 'last-event-id': from } : {}, signal: c.signal })
      .then(async (res) => {
        if (res.status !== 200) return end('STREAM_FAILED', `stream answered ${res.status}`, res.status);
        openedAt = Date.now();
        h.open(from);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        // `event`, `id` and `retry` as last received (an id carries over to later events).
        const fields: Record<string, string> = {};
        let rest = '';
        let data = '';
        for (;;) {
          const { done, value: chunk } = await reader.read();
          if (done) break;
          alive();
          const lines = (rest + decoder.decode(chunk, { stream: true })).split(/\r?\n/);
          rest = lines.pop() as string;
          for (const line of lines) {
            const [, field, value] = /([^:]*):? ?(.*)/.exec(line) as unknown as string[];
            if (line) {
              if (field === 'data') data += `${value}\n`;
              else fields[field as string] = value as string;
            } else {
              // A listener may have stopped the client earlier in this chunk.
              if (data && live === c && h.event(fields.event as string, data.slice(0, -1)) && fields.id) {
                lastEventId = fields.id;
              }
              initialMs = +(fields.retry as string) || initialMs;
              data = fields.event = '';
            }
          }
        }
        end('STREAM_FAILED', 'stream ended');
      })
      .catch((err) => end('STREAM_FAILED', `stream: ${err}`));
  };

  connect();
  return () => {
    clearTimeout(retryTimer);
    clearTimeout(stallTimer);
    live?.abort();
    live = undefined;
  };
}
