import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SseEvent, StreamFailure } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeEventStream } from './node-event-stream.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/stream`;
}

function record() {
  const seen: { opened: number; data: number; events: SseEvent[]; retry: number[]; closed: StreamFailure[] } = {
    opened: 0,
    data: 0,
    events: [],
    retry: [],
    closed: [],
  };
  let wake: () => void = () => undefined;
  const changed = () => wake();
  const until = (p: () => boolean) =>
    new Promise<void>((resolve) => {
      wake = () => p() && resolve();
      wake();
    });
  return {
    seen,
    until,
    handlers: {
      onOpen: () => {
        seen.opened++;
        changed();
      },
      onData: () => {
        seen.data++;
        changed();
      },
      onEvent: (e: SseEvent) => {
        seen.events.push(e);
        changed();
      },
      onRetryAdvice: (ms: number) => seen.retry.push(ms),
      onClose: (f: StreamFailure) => {
        seen.closed.push(f);
        changed();
      },
    },
  };
}

describe('nodeEventStream', () => {
  it('parses events split anywhere, multi-byte characters included, and sends Last-Event-ID', async () => {
    let headers: IncomingMessage['headers'] = {};
    const url = await serve((req, res) => {
      headers = req.headers;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const body = Buffer.from('retry: 1500\n\n:\n\nevent: put\nid: 7\ndata: {"name":"Zoë 🚀"}\n\n', 'utf8');
      // One byte at a time: every character, and the emoji's four bytes, arrive split.
      let i = 0;
      const tick = () => {
        if (i < body.length) {
          res.write(body.subarray(i, i + 1));
          i++;
          setImmediate(tick);
        }
      };
      tick();
    });
    const r = record();
    const handle = nodeEventStream('test-agent').open(
      { url, headers: { authorization: 'Bearer k' }, lastEventId: '6' },
      r.handlers,
    );
    await r.until(() => r.seen.events.length === 1);
    handle.close();
    expect(r.seen.events).toEqual([{ event: 'put', data: '{"name":"Zoë 🚀"}', lastEventId: '7' }]);
    expect(r.seen.retry).toEqual([1500]);
    expect(r.seen.opened).toBe(1);
    expect(r.seen.data).toBeGreaterThan(10);
    expect(headers['last-event-id']).toBe('6');
    expect(headers.authorization).toBe('Bearer k');
    expect(headers['user-agent']).toBe('test-agent');
    expect(r.seen.closed).toEqual([]);
  });

  it('reports a refusal with its status, once, without opening', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(401).end('{"error":{}}');
    });
    const r = record();
    nodeEventStream('a').open({ url, headers: {} }, r.handlers);
    await r.until(() => r.seen.closed.length > 0);
    expect(r.seen.opened).toBe(0);
    expect(r.seen.closed).toEqual([{ status: 401, message: 'the server answered 401' }]);
  });

  it('reports a stream the server ends, and a server that cannot be reached', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('event: patch\ndata: {"half": ');
    });
    const r = record();
    nodeEventStream('a').open({ url, headers: {} }, r.handlers);
    await r.until(() => r.seen.closed.length > 0);
    expect(r.seen.events).toEqual([]);
    expect(r.seen.closed).toHaveLength(1);
    const refused = record();
    nodeEventStream('a').open({ url: 'http://127.0.0.1:1/stream', headers: {} }, refused.handlers);
    await refused.until(() => refused.seen.closed.length > 0);
    expect(refused.seen.closed[0]?.status).toBeUndefined();
    expect(refused.seen.closed[0]?.message).toMatch(/ECONNREFUSED/);
  });

  it('calls no handler once closed', async () => {
    let write: ((s: string) => void) | undefined;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(':\n\n');
      write = (s) => res.write(s);
    });
    const r = record();
    const handle = nodeEventStream('a').open({ url, headers: {} }, r.handlers);
    await r.until(() => r.seen.data > 0);
    handle.close();
    write?.('event: put\ndata: {}\n\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.seen.events).toEqual([]);
    expect(r.seen.closed).toEqual([]);
  });
});
