import { afterEach, describe, expect, it, vi } from 'vitest';
import { elapse, fakeServer, settle } from '../fake-server.fixture.js';
import { follow } from './event-source.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const STREAM = 'https://flags.test/sdk/v1/stream?key=k';
const RULESET = 'https://flags.test/sdk/v1/ruleset?key=k';

/** Follows the fake server with 100 ms first ceiling and 400 ms maximum, recording what it reports. */
function start(accept: (type: string, data: string) => boolean = () => true, initialMs = 100, maxMs = 400) {
  const log: unknown[][] = [];
  const stop = follow(
    STREAM,
    RULESET,
    () => log.push(['open']),
    (type, data) => {
      log.push([type, data]);
      return accept(type, data);
    },
    () => log.push(['lost']),
    (status) => log.push(['refused', status]),
    initialMs,
    maxMs,
  );
  return { log, stop };
}

describe('following the event stream', () => {
  it('hands on put and patch events, whole, however the bytes are split, and nothing else', async () => {
    const server = fakeServer();
    const { log } = start();
    await settle();
    const text =
      ': heartbeat\r\nretry: 50\r\n\r\nevent: put\r\nid: 3\r\ndata: {"a":\r\ndata:"é😀"}\r\n\r\nevent: patch\ndata:x\n\ndata: no type\n\nevent: other\ndata: y\n\n';
    const bytes = new TextEncoder().encode(text);
    // One byte at a time: lines, CRLF pairs and UTF-8 sequences are all cut in two somewhere.
    for (let i = 0; i < bytes.length; i++) {
      server.last.send(bytes.slice(i, i + 1));
      await settle();
    }
    expect(log).toEqual([['open'], ['put', '{"a":\n"é😀"}'], ['patch', 'x']]);
  });

  it('resumes, in the query, from the id of the last event applied, and asks the server about the key first', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = fakeServer();
    const { log } = start((_type, data) => data !== 'refused');
    await settle();
    expect(server.last.url).toBe(`${STREAM}&lastEventId=`);
    server.last.send('event: put\nid: 5\ndata: {}\n\nevent: patch\ndata: {}\n\n');
    server.last.send('event: patch\nid: 6\ndata: refused\n\n');
    server.last.end();
    await elapse(0);
    expect(server.probes).toHaveLength(1);
    expect(server.streams).toHaveLength(2);
    expect(server.last.url).toBe(`${STREAM}&lastEventId=5`);
    expect(server.last.lastEventId).toBe('5');
    expect(log.slice(-2)).toEqual([['lost'], ['open']]);
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
    expect(server.probes).toHaveLength(5);
    expect(log.filter((l) => l[0] === 'lost')).toHaveLength(5);
    expect(log.at(-1)).toEqual(['open']);
    expect(random).toHaveBeenCalledTimes(5);
  });

  it('starts the backoff over after a stream that lived a minute', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const server = fakeServer();
    start(() => true, 2000, 60_000);
    await settle();
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
    // Alive for over a minute: back to 2 s.
    await elapse(61_000);
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
    expect(server.requests).toHaveLength(1);
    expect(server.probes).toHaveLength(1);
  });

  it('stops for good when the key is refused after a stream that had been open', async () => {
    const server = fakeServer();
    const { log } = start();
    await settle();
    server.plan(401);
    server.last.end();
    await elapse(60_000);
    expect(log).toEqual([['open'], ['lost'], ['refused', 401]]);
    expect(server.requests).toHaveLength(2);
  });

  it('stops at once: the stream is aborted, a pending reconnect or probe cancelled, nothing reported', async () => {
    const server = fakeServer();
    const { log, stop } = start();
    await settle();
    stop();
    await elapse(10_000);
    expect(server.last.aborted).toBe(true);
    expect(log).toEqual([['open']]);

    server.plan('down');
    const second = start();
    await settle();
    second.stop();
    await elapse(10_000);
    expect(server.requests).toHaveLength(2);

    server.plan(401);
    const third = start();
    third.stop();
    await elapse(10_000);
    expect(third.log).toEqual([]);
  });
});
