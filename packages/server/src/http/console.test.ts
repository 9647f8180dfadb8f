import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';

let built: string;
let missing: string;

beforeAll(async () => {
  built = await mkdtemp(join(tmpdir(), 'switchyard-console-dist-'));
  await mkdir(join(built, 'assets'));
  await writeFile(join(built, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(built, 'assets', 'app-abc123.js'), 'console.log(1)');
  missing = await mkdtemp(join(tmpdir(), 'switchyard-console-missing-'));
});

afterAll(async () => {
  await rm(built, { recursive: true, force: true });
  await rm(missing, { recursive: true, force: true });
});

describe('serving the console', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ consoleDir: built });
  });
  afterAll(async () => server.close());

  it('serves index.html at / and at the console’s own routes, uncached', async () => {
    for (const url of ['/', '/projects/demo/flags/search-v2?env=production']) {
      const res = await server.call('GET', url, undefined, { token: null });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves the hashed assets with a long cache life', async () => {
    const res = await server.call('GET', '/assets/app-abc123.js', undefined, { token: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
  });

  it('leaves the paths of the API, SDKs, docs and probes to the server', async () => {
    for (const url of [
      '/api/v1/nope',
      '/api',
      '/sdk/v1/nope',
      '/metrics',
      '/healthz/x',
      '/readyz/x',
      '/assets/gone.js',
    ]) {
      const res = await server.call('GET', url, undefined, { token: null });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    expect((await server.call('GET', '/healthz', undefined, { token: null })).statusCode).toBe(200);
    expect((await server.call('GET', '/api/v1/me', undefined, { token: null })).statusCode).toBe(401);
  });
});

describe('without a built console', () => {
  it('starts, serves the API alone and logs that the console is not built', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const server = await startTestServer({ consoleDir: missing, logger: { level: 'warn', stream } });
    try {
      expect((await server.call('GET', '/', undefined, { token: null })).statusCode).toBe(404);
      expect((await server.call('GET', '/healthz', undefined, { token: null })).statusCode).toBe(200);
      expect(lines.join('')).toContain('the console is not built');
    } finally {
      await server.close();
    }
  });
});
