import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { createPerson, PASSWORD } from '../../packages/server/src/test-support/people.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { type Chromium, launchChromium } from '../browser/support/chromium.js';

const CONSOLE = fileURLToPath(new URL('../../packages/console/', import.meta.url));

/** Screenshots of the pages the tests visit, kept as artifacts of the run. */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/console/', import.meta.url));

/**
 * Builds the console with its own build command into a fresh folder, so that the test serves
 * what `pnpm install` would build and test files never read each other's half-written files.
 */
export async function buildConsole(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-console-'));
  const vite = join(CONSOLE, 'node_modules/vite/bin/vite.js');
  const args = [vite, 'build', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'];
  // Vite builds one project once at a time and refuses a second build while one runs: test
  // files that start together wait for each other's builds (a second or two each).
  for (let attempt = 0; ; attempt++) {
    try {
      await promisify(execFile)(process.execPath, args, { cwd: CONSOLE });
      break;
    } catch (err) {
      if (attempt >= 60 || !String(err).includes('Found another Vite build process')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 500));
    }
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface ConsoleServer {
  server: TestServer;
  url: string;
  close(): Promise<void>;
}

/** A real server on its own database serving the console built in `dir`, listening on loopback. */
export async function startConsoleServer(dir: string): Promise<ConsoleServer & { changes: ChangeStream }> {
  const server = await startTestServer({ consoleDir: dir });
  const changes = changeStream(server);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const address = server.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return { server, changes, url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

/** A project `shop` with `staging` and `production`, and a person who may edit it. */
export async function shopWithEditor(s: TestServer, email: string): Promise<{ email: string; password: string }> {
  await s.ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await s.ok('POST', '/api/v1/projects/shop/environments', { key: 'staging', name: 'Staging' });
  await s.ok('POST', '/api/v1/projects/shop/environments', { key: 'production', name: 'Production' });
  await createPerson(s, email, { project: 'shop', role: 'editor' });
  return { email, password: PASSWORD };
}

/**
 * Chromium for one test file. A step that cannot happen fails with what it waited for, well
 * before the test's own timeout.
 */
export async function chromiumForConsole(): Promise<Chromium> {
  const chrome = await launchChromium();
  chrome.context.setDefaultTimeout(10_000);
  return chrome;
}

/** A test file's console: built, served on its own database, and a Chromium to drive it. */
export interface ConsoleInChromium extends ConsoleServer {
  changes: ChangeStream;
  chrome: Chromium;
  /** Closes the browser and the server and removes the build. */
  close(): Promise<void>;
}

export async function consoleInChromium(): Promise<ConsoleInChromium> {
  const closers: (() => Promise<void>)[] = [];
  // What was opened is closed in the reverse order, also when a later step fails to open.
  const close = async () => {
    for (const closer of [...closers].reverse()) await closer();
  };
  try {
    const built = await buildConsole();
    closers.push(built.remove);
    const app = await startConsoleServer(built.dir);
    closers.push(app.close);
    const chrome = await chromiumForConsole();
    closers.push(chrome.close);
    return { ...app, chrome, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Fills in the sign-in form on `page` and sends it; the caller waits for what should follow. */
export async function submitSignIn(page: Page, person: { email: string; password: string }): Promise<void> {
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A new page of the console's Chromium, signed in as `person`, on the projects page. */
export async function signedIn(app: ConsoleInChromium, person: { email: string; password: string }): Promise<Page> {
  const page = await app.chrome.context.newPage();
  await page.goto(`${app.url}/`);
  await submitSignIn(page, person);
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  return page;
}

/** Someone else's change through the API, and its audit entry on the change stream. */
export async function changeElsewhere(
  app: ConsoleServer & { changes: ChangeStream },
  method: string,
  path: string,
  body?: unknown,
): Promise<void> {
  await app.server.ok(method, path, body);
  const audit = await app.server.ok('GET', '/api/v1/audit?limit=1');
  app.changes.publish(audit.items[0]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * The management change stream's contract (`GET /api/v1/projects/:project/changes`: SSE, event
 * `change`, data one audit entry as `GET /api/v1/audit` lists it, id the entry's id), served by
 * the test itself where the server has no such route yet. Where the server has it, the real
 * stream is used and `publish` does nothing.
 */
export interface ChangeStream {
  publish(entry: { id: number | string }): void;
}

export function changeStream(s: TestServer): ChangeStream {
  const url = '/api/v1/projects/:project/changes';
  if (s.app.hasRoute({ method: 'GET', url })) return { publish: () => undefined };
  const clients = new Set<import('node:http').ServerResponse>();
  s.app.get(url, (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    reply.raw.write(': connected\n\n');
    clients.add(reply.raw);
    reply.raw.on('close', () => clients.delete(reply.raw));
  });
  s.app.addHook('preClose', async () => {
    for (const c of clients) c.end();
  });
  return {
    publish(entry) {
      for (const c of clients) c.write(`event: change\nid: ${entry.id}\ndata: ${JSON.stringify(entry)}\n\n`);
    },
  };
}
