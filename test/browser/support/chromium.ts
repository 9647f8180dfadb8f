import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BrowserContext, chromium } from 'playwright-core';

const SDK = fileURLToPath(new URL('../../../packages/sdk-browser/', import.meta.url));

/** Debian's Chromium, headless; playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  /** The browser's one context: its pages share `localStorage`, as the tabs of one profile do. */
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (`--user-data-dir`) of its own: one per test file. */
export async function launchChromium(): Promise<Chromium> {
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A bundle built for one test file, in a folder of its own. */
export interface Built {
  file: string;
  remove(): Promise<void>;
}

/**
 * Builds the SDK's `<script>` bundle with the package's own build script into a fresh folder
 * (so test files running at once never read each other's half-written files).
 */
export async function buildIife(): Promise<Built> {
  const outdir = await mkdtemp(join(tmpdir(), 'switchyard-iife-'));
  await promisify(execFile)(process.execPath, [join(SDK, 'scripts/build.mjs'), '--iife-only', '--outdir', outdir], {
    cwd: SDK,
  });
  return { file: join(outdir, 'switchyard.iife.js'), remove: () => rm(outdir, { recursive: true, force: true }) };
}
