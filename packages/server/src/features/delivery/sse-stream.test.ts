import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
let port: number;
let serverKey: string;
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
  s = await startTestServer();
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
});
