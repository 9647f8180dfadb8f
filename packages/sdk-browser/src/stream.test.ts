import { afterEach, describe, expect, it, vi } from 'vitest';
import { elapse, fakeServer, settle } from './fake-server.fixture.js';
import { follow, type StreamHandlers } from './stream.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** Follows the fake server with 100 ms first ceiling, 400 ms maximum and a 1 s stall window, recording what it reports. */
function start(accept: (type: string, data: string) => boolean = () => true, initialMs = 100, maxMs = 400) {
  const log: unknown[][] = [];
  const handlers: StreamHandlers = {
    open: (from) => log.push(['open', from]),
    event: (type, data) => {
      log.push([type, data]);
      return accept(type, data);
    },
    lost: (code, message, status) => log.push(['lost', code, message, status]),
    refused: (status) => log.push(['refused', status]),
  };
  const stop = follow('https://flags.test/sdk/v1/stream?key=k', handlers, initialMs, maxMs, 1000);
  return { log, stop };
}

describe('following the event stream', () => {
  it('parses events however the bytes are split: LF or CRLF, comments, multi-line data, multi-byte characters', async () => {
    const server = fakeServer();
    const { log } = start();
    await settle();
    const text =
      ': hello\r\nretry: 50\r\n\r\nevent: put\r\nid: 3\r\ndata: {"a":\r\ndata:"é😀"}\r\n\r\nevent: patch\ndata:x\n\ndata: no type\n\n';
    const bytes = new TextEncoder().encode(text);
    // One byte at a time: lines, CRLF pairs and UTF-8 sequences are all cut in two somewhere.
    for (let i = 0; i < bytes.length; i++) {
      server.last.send(bytes.slice(i, i + 1));
      await settle();
    }
    expect(log).toEqual([
      ['open', undefined],
      ['put', '{"a":\n"é😀"}'],
      ['patch', 'x'],
      ['', 'no type'],
    ]);
  });

  it('resumes from the id of the last event applied, carried over to events without one', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = fakeServer();
    const { log } = start((type) => type !== 'refused');
    await settle();
    expect(server.last.lastEventId).toBeUndefined();
    server.last.send('event: put\nid: 5\ndata: {}\n\nevent: patch\ndata: {}\n\n');
    server.last.send('event: refused\nid: 6\ndata: {}\n\n');
    server.last.end();
    await elapse(0);
    expect(server.streams).toHaveLength(2);
    expect(server.last.lastEventId).toBe('5');
    expect(log.at(-1)).toEqual(['open', '5']);
    server.last.send('event: patch\nid: 7\ndata: {}\n\n');
    server.last.end();
    await elapse(0);
    expect(server.last.lastEventId).toBe('7');
  });

  it('reconnects after a full-jitter backoff whose ceiling doubles per failure up to the maximum', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const server = fakeServer();
    server.plan('down', 'down', 503, 'down', 'down');
    const { log } = start();
    const started = Date.now();
    await elapse(1000);
    // Half of each ceiling: 100, 200, 400, 400, 400 ms, after the first attempt at once.
    expect(server.requests.map((t) => t - started)).toEqual([0, 50, 150, 350, 550, 750]);
    expect(log.filter((l) => l[0] === 'lost').map((l) => l[3])).toEqual([
      undefined,
      undefined,
      503,
      undefined,
      undefined,
    ]);
    expect(log.at(-1)).toEqual(['open', undefined]);
    expect(log[0]).toEqual(['lost', 'STREAM_FAILED', 'stream: TypeError: fetch failed', undefined]);
    expect(random).toHaveBeenCalledTimes(5);
  });

  it("takes the server's retry advice as the first ceiling, and starts over after a stream that lived a minute", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const server = fakeServer();
    start(() => true, 100, 60_000);
    await settle();
    server.last.send('retry: 2000\n\n');
    server.last.end();
    await elapse(999);
    expect(server.streams).toHaveLength(1);
    await elapse(1);
    expect(server.streams).toHaveLength(2);
    // Short-lived again: the ceiling doubles to 4 s.
    server.last.end();
    await elapse(1999);
    expect(server.streams).toHaveLength(2);
    await elapse(1);
    expect(server.streams).toHaveLength(3);
    // Alive for over a minute (heartbeats every 500 ms keep it from stalling): back to 2 s.
    for (let t = 0; t < 61_000; t += 500) {
      server.last.send(':\n\n');
      await elapse(500);
    }
    server.last.end();
    await elapse(999);
    expect(server.streams).toHaveLength(3);
    await elapse(1);
    expect(server.streams).toHaveLength(4);
  });

  it.each([401, 403])('stops for good when the server answers %i', async (status) => {
    const server = fakeServer();
    server.plan(status);
    const { log } = start();
    await elapse(60_000);
    expect(log).toEqual([['refused', status]]);
    expect(server.streams).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops a stream that sends nothing, not even a heartbeat, within the stall window, and reconnects', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = fakeServer();
    const { log } = start();
    await settle();
    for (let i = 0; i < 5; i++) {
      server.last.send(':\n\n');
      await elapse(900);
    }
    expect(server.streams).toHaveLength(1);
    await elapse(100);
    expect(server.streams[0]?.aborted).toBe(true);
    expect(log.at(-1)).toEqual(['lost', 'STREAM_STALLED', 'stream silent', undefined]);
    await elapse(1);
    expect(server.streams).toHaveLength(2);
  });

  it('stops at once: the stream is aborted, a pending reconnect cancelled, nothing reported', async () => {
    const server = fakeServer();
    const { log, stop } = start();
    await settle();
    stop();
    await elapse(10_000);
    expect(server.last.aborted).toBe(true);
    expect(log).toEqual([['open', undefined]]);

    server.plan('down');
    const second = start();
    await settle();
    second.stop();
    await elapse(10_000);
    expect(server.streams).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
