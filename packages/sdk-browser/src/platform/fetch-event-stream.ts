import { type EventStream, SseParser, type StreamFailure } from '@switchyard/core';

/**
 * The `EventStream` port over a streaming `fetch` rather than `EventSource`: `EventSource`
 * cannot send `Last-Event-ID` on a connection the client opens (only on its own reconnects, on
 * its own schedule), and never shows the HTTP status, so a refused key would look like a network
 * error forever. With `fetch` the shared client decides every reconnection, with backoff, resumes
 * from the last version it holds, and stops at once on 401/403. The key still goes in `?key=`
 * (see `keyInQuery`), so a first connection needs no CORS preflight.
 */
export const fetchEventStream: EventStream = {
  open(request, handlers) {
    const abort = new AbortController();
    let closed = false;
    const end = (failure?: StreamFailure) => {
      if (closed) return;
      closed = true;
      abort.abort();
      if (failure !== undefined) handlers.onClose(failure);
    };
    const headers: Record<string, string> = { ...request.headers };
    if (request.lastEventId !== undefined) headers['last-event-id'] = request.lastEventId;
    const parser = new SseParser((event) => {
      if (!closed) handlers.onEvent(event);
    });
    fetch(request.url, { headers, signal: abort.signal, cache: 'no-store' })
      .then(async (res) => {
        if (closed) return;
        if (res.status !== 200 || res.body === null) {
          end({ status: res.status, message: `the stream answered ${res.status}` });
          return;
        }
        handlers.onOpen();
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (closed) return;
          if (done) break;
          handlers.onData();
          parser.feed(decoder.decode(value, { stream: true }));
          if (parser.retry !== undefined) {
            handlers.onRetryAdvice?.(parser.retry);
            parser.retry = undefined;
          }
        }
        end({ message: 'the server ended the stream' });
      })
      .catch((err: unknown) => end({ message: err instanceof Error ? err.message : String(err), cause: err }));
    return { close: () => end() };
  },
};
