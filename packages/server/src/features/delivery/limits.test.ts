import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { TestSseClient } from '../../test-support/sse-client.js';

let s: TestServer;
let url: URL;
let serverKey: string;
let serverKeyId: string;

const ok = (method: string, path: string, body?: unknown) => s.ok(method, path, body);

beforeAll(async () => {
  s = await startTestServer({ delivery: { maxBufferedBytes: 64 * 1024, reconcileIntervalMs: 200 } });
  url = new URL(await s.app.listen({ port: 0, host: '127.0.0.1' }));
  await ok('POST', '/api/v1/projects', { key: 'lim', name: 'Limits' });
  await ok('POST', '/api/v1/projects/lim/environments', { key: 'prod', name: 'Production' });
  await ok('POST', '/api/v1/projects/lim/flags', { key: 'big', name: 'Big', type: 'boolean' });
  const key = await ok('POST', '/api/v1/keys', { name: 'srv', type: 'server', project: 'lim', environment: 'prod' });
  serverKey = key.token;
  serverKeyId = key.id;
});

afterAll(async () => {
  await s?.close();
});

describe('stream limits', () => {
  it('cuts off a client that stops reading once its unsent data passes the limit', async () => {
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /sdk/v1/stream HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${serverKey}\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    // From here on the client reads nothing, so the kernel buffers fill, then the server's.
    socket.pause();
    const targets = Array.from({ length: 8000 }, (_, i) => `user-${i}-${'x'.repeat(90)}`);
    for (let i = 0; i < 60; i++) {
      await ok('PATCH', '/api/v1/projects/lim/flags/big/environments/prod', {
        targets: [{ variant: i % 2 === 0 ? 'on' : 'off', values: targets }],
      });
    }
    // A stream the server still holds never ends; one it cut off ends once the client reads
    // what reached it, far less than the ~50 MB sent to it.
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    await closed;
    expect(received).toBeLessThan(30 * 1024 * 1024);
  }, 60_000);

  it('closes the open streams of a key when it is revoked', async () => {
    const c = await TestSseClient.connect(`${url.origin}/sdk/v1/stream`, { token: serverKey });
    await c.waitFor((e) => e.length > 0);
    await ok('POST', `/api/v1/keys/${serverKeyId}/revoke`);
    await c.waitFor(() => c.ended, 5000);
    expect(c.ended).toBe(true);
  });
});
