import http from 'node:http';
import https from 'node:https';
import { type EventStream, SseParser, type StreamFailure } from '@switchyard/core';

/**
 * Server-Sent Events over `node:http`/`node:https`, parsed by the core's `SseParser`: one
 * connection per `open`, never reconnected here (the client's connection state machine owns
 * retries). The response is decoded as UTF-8 by the stream itself, so a character split across
 * two TCP packets arrives whole.
 */
export function nodeEventStream(userAgent: string): EventStream {
  return {
    open(request, handlers) {
      let done = false;
      const finish = (failure: StreamFailure) => {
        if (done) return;
        done = true;
        handlers.onClose(failure);
      };
      const headers: Record<string, string> = {
        ...request.headers,
        'cache-control': 'no-cache',
        'user-agent': userAgent,
      };
      if (request.lastEventId !== undefined) headers['last-event-id'] = request.lastEventId;
      let req: http.ClientRequest;
      try {
        const url = new URL(request.url);
        req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers });
      } catch (err) {
        // The contract: a failure to open is reported asynchronously, never thrown.
        queueMicrotask(() => finish({ message: (err as Error).message, cause: err }));
        return {
          close() {
            done = true;
          },
        };
      }
      req.on('response', (res) => {
        if (done) {
          res.destroy();
          return;
        }
        if (res.statusCode !== 200) {
          res.resume();
          finish({ status: res.statusCode ?? 0, message: `the server answered ${res.statusCode}` });
          req.destroy();
          return;
        }
        handlers.onOpen();
        res.setEncoding('utf8');
        let retry: number | undefined;
        const parser = new SseParser((event) => {
          if (!done) handlers.onEvent(event);
        });
        res.on('data', (chunk: string) => {
          if (done) return;
          handlers.onData();
          parser.feed(chunk);
          if (parser.retry !== undefined && parser.retry !== retry) {
            retry = parser.retry;
            handlers.onRetryAdvice?.(retry);
          }
        });
        res.on('end', () => finish({ message: 'the server ended the stream' }));
        res.on('close', () => finish({ message: 'the connection closed' }));
        res.on('error', (err) => finish({ message: err.message, cause: err }));
      });
      req.on('error', (err) => finish({ message: err.message, cause: err }));
      req.end();
      return {
        close() {
          done = true;
          req.destroy();
        },
      };
    },
  };
}
