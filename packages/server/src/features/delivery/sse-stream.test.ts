import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
let port: number;
let serverKey: string;
const METRICS_TOKEN = 'metrics-sse-stream-test';
const config = '/api/v1/projects/raw/flags/switch/environments/prod';

const ok = (method: string, path: string, body?: unknown) => s.ok(method, path, body);

/** A stream read byte for byte, to see exactly what the server puts on the wire. */
async function rawStream(httpVersion: '1.0' | '1.1'): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`GET /sdk/v1/stream HTTP/${httpVersion}\r\nHost: test\r\nAuthorization: Bearer ${serverKey}\r\n\r\n`);
  return { socket, received: () => text };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** This instance's open streams of raw/prod, as its metrics report them. */
async function openStreams(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const line = (await res.text())
    .split('\n')
    .find((l) => l.startsWith('switchyard_sse_streams_open{environment="raw/prod"}'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** The body of a chunked response, with its framing checked and removed. */
function dechunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) return out;
    const size = Number.parseInt(body.slice(at, lineEnd), 16);
    expect(Number.isInteger(size)).toBe(true);
    const data = body.slice(lineEnd + 2, lineEnd + 2 + size);
    if (data.length < size) return out;
    expect(body.slice(lineEnd + 2 + size, lineEnd + 4 + size)).toBe('\r\n');
    out += data;
    at = lineEnd + 4 + size;
  }
}

beforeAll(async () => {
  s = await startTestServer({ metrics: { token: METRICS_TOKEN } });
  port = Number(new URL(await s.app.listen({ port: 0, host: '127.0.0.1' })).port);
  await ok('POST', '/api/v1/projects', { key: 'raw', name: 'Raw' });
  await ok('POST', '/api/v1/projects/raw/environments', { key: 'prod', name: 'Production' });
  await ok('POST', '/api/v1/projects/raw/flags', { key: 'switch', name: 'Switch', type: 'boolean' });
  serverKey = (await ok('POST', '/api/v1/keys', { name: 'srv', type: 'server', project: 'raw', environment: 'prod' }))
    .token;
});

afterAll(async () => {
  await s?.close();
});

describe('SSE stream on the wire', () => {
  it('frames every broadcast patch as a well-formed HTTP/1.1 chunk', async () => {
    const { socket, received } = await rawStream('1.1');
    try {
      await until(() => received().includes('event: put'));
      const versions: number[] = [];
      for (const action of ['unkill', 'kill', 'unkill'])
        versions.push((await ok('POST', `${config}/${action}`)).version);
      await until(() => received().includes(`id: ${versions.at(-1)}\n`));
      const [head, body] = received().split('\r\n\r\n', 2) as [string, string];
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
      const events = dechunk(body);
      for (const v of versions) expect(events).toContain(`"version":${v}`);
    } finally {
      socket.destroy();
    }
  });

  it('streams to an HTTP/1.0 client, which cannot take chunked framing, in plain text', async () => {
    const { socket, received } = await rawStream('1.0');
    try {
      await until(() => received().includes('event: put'));
      const { version } = await ok('POST', `${config}/kill`);
      await until(() => received().includes(`id: ${version}\n`));
      const [head, body] = received().split('\r\n\r\n', 2) as [string, string];
      expect(head.toLowerCase()).not.toContain('transfer-encoding');
      expect(body).toMatch(/^retry: \d+\n\nevent: put\n/);
      // No chunk sizes or CRLFs: the events use bare LFs, and nothing frames them.
      expect(body).not.toContain('\r\n');
      expect(body).toContain(`event: patch\ndata: {"kind":"flag","key":"switch","version":${version},`);
    } finally {
      socket.destroy();
    }
  });

  // Once its head is sent a stream's socket is no longer node:http's (bare-socket.ts): these are
  // the things node:http did for it that the stream now does itself.
  it('closes the connection, and forgets the stream, when the client ends its side', async () => {
    const { socket, received } = await rawStream('1.1');
    try {
      await until(() => received().includes('event: put'));
      expect(await openStreams()).toBe(1);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.end();
      await closed;
      let open = await openStreams();
      for (let i = 0; i < 50 && open !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        open = await openStreams();
      }
      expect(open).toBe(0);
    } finally {
      socket.destroy();
    }
  });

  it('ends a stream the server closes with the last chunk, then closes the connection', async () => {
    const key = await ok('POST', '/api/v1/keys', { name: 'gone', type: 'server', project: 'raw', environment: 'prod' });
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /sdk/v1/stream HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${key.token}\r\n\r\n`);
    try {
      await until(() => text.includes('event: put'));
      await ok('POST', `/api/v1/keys/${key.id}/revoke`);
      await closed;
      const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      expect(body.endsWith('0\r\n\r\n')).toBe(true);
      expect(dechunk(body)).toMatch(/^retry: \d+\n\nevent: put\n/);
    } finally {
      socket.destroy();
    }
  });
});
