import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedBlocks, ROOT, readmeSection, shellCommands } from '../readme/readme-blocks.js';
import { createFlag, type LiveServer, startLiveServer } from './support.js';

/** Runs a shell command; its stdout, or an error with everything it printed. */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync('bash', ['-c', command], { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

// The README's way of getting the SDK into an application outside the repository, taken from it.
const outside = readmeSection('### In an application outside this repository', '## Tests');
const [packCore, packSdk, install] = shellCommands(fencedBlocks(outside).find((b) => b.lang === 'sh')?.text ?? '');
const nodeSnippet = fencedBlocks(readmeSection('## Node SDK', '## Tests')).find((b) => b.lang === 'js')?.text ?? '';

/** Where the README's commands put the tarballs, and the application that installs them. */
let packed: string;
let app: string;

beforeAll(() => {
  const scratch = mkdtempSync(join(tmpdir(), 'switchyard-app-'));
  packed = join(scratch, 'packed');
  app = join(scratch, 'app');
  mkdirSync(app);
  // The README's commands with its placeholder folders replaced by this test's.
  expect(packCore).toBe('pnpm --dir packages/core pack --pack-destination ../../packed');
  expect(packSdk).toBe('pnpm --dir packages/sdk-node pack --pack-destination ../../packed');
  sh(`${packCore?.replace('../../packed', packed)}`, ROOT);
  sh(`${packSdk?.replace('../../packed', packed)}`, ROOT);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  expect(install).toMatch(
    /^npm install \/path\/to\/switchyard\/packed\/\S+\.tgz \/path\/to\/switchyard\/packed\/\S+\.tgz$/,
  );
  // --offline: the two tarballs are all it needs, and CI need not reach a registry.
  sh(`${install?.replaceAll('/path/to/switchyard/packed', packed)} --offline --no-audit --no-fund`, app);
  // The optional peer dependency, as an application using the OpenFeature subpath installs it.
  mkdirSync(join(app, 'node_modules', '@openfeature'), { recursive: true });
  for (const name of ['server-sdk', 'core']) {
    const installed = realpathSync(join(ROOT, 'packages/sdk-node/node_modules/@openfeature', name));
    symlinkSync(installed, join(app, 'node_modules/@openfeature', name));
  }
}, 240_000);

const program = (load: string) => `${load}
const ruleset = { schemaVersion: 1, environment: 'x', version: 1, segments: [], flags: [
  { key: 'f', type: 'string', variants: [{ key: 'a', value: 'A' }], enabled: true, defaultServe: { variant: 'a' }, version: 1 } ] };
const client = sdk.createClient({ offline: true, bootstrap: ruleset });
const provider = new of.SwitchyardProvider(client);
provider.initialize().then(async () => {
  const details = await provider.resolveStringEvaluation('f', 'default', { targetingKey: 'u' });
  console.log(JSON.stringify({ value: client.getString('f', {}, 'default'), details, error: typeof sdk.SwitchyardError }));
});
`;

const installed = (pkg: string) => join(app, 'node_modules/@switchyard', pkg);

describe('@switchyard/sdk-node packed and installed in an application elsewhere, as the README says', () => {
  it('installs from the two tarballs, the core resolved from its own tarball rather than a registry', () => {
    const manifest = JSON.parse(readFileSync(join(installed('sdk-node'), 'package.json'), 'utf8'));
    const core = JSON.parse(readFileSync(join(installed('core'), 'package.json'), 'utf8'));
    expect(manifest.dependencies).toEqual({ '@switchyard/core': core.version });
    for (const pkg of [manifest, core]) {
      expect(pkg).toMatchObject({ license: 'Apache-2.0', repository: { type: 'git' } });
      expect(pkg.keywords).toContain('feature-flags');
      // src/ is not in the tarball, so no export may point there.
      expect(JSON.stringify(pkg.exports)).not.toContain('source');
    }
    for (const dir of [installed('sdk-node'), installed('core')]) {
      expect(existsSync(join(dir, 'LICENSE')), dir).toBe(true);
      expect(existsSync(join(dir, 'src')), dir).toBe(false);
    }
  });

  it('loads with require (CommonJS), the OpenFeature subpath included', () => {
    writeFileSync(
      join(app, 'main.cjs'),
      program("const sdk = require('@switchyard/sdk-node'); const of = require('@switchyard/sdk-node/openfeature');"),
    );
    expect(JSON.parse(sh('node main.cjs', app))).toEqual({
      value: 'A',
      details: { value: 'A', variant: 'a', reason: 'STATIC' },
      error: 'function',
    });
  });

  it('loads with import (ESM), the OpenFeature subpath included', () => {
    writeFileSync(
      join(app, 'main.mjs'),
      program("import * as sdk from '@switchyard/sdk-node'; import * as of from '@switchyard/sdk-node/openfeature';"),
    );
    expect(JSON.parse(sh('node main.mjs', app))).toEqual({
      value: 'A',
      details: { value: 'A', variant: 'a', reason: 'STATIC' },
      error: 'function',
    });
  });

  it('rejects waitForReady with TIMEOUT when the server cannot be reached, and the program goes on (both module kinds)', () => {
    // Port 9 (discard) refuses connections: the client only waits between reconnection attempts,
    // on unref'd timers, so only the awaited timeout keeps the process alive until it settles.
    const waiting = (load: string) => `${load}
const client = sdk.createClient({ sdkKey: 'sy_server_x', baseUrl: 'http://127.0.0.1:9', sendEvents: false });
const started = Date.now();
(async () => {
  const code = await client.waitForReady({ timeout: 400 }).then(() => 'READY', (error) => error.code);
  console.log(JSON.stringify({ code, waited: Date.now() - started >= 390 }));
  await client.close();
})();
`;
    writeFileSync(join(app, 'wait.cjs'), waiting("const sdk = require('@switchyard/sdk-node');"));
    writeFileSync(join(app, 'wait.mjs'), waiting("import * as sdk from '@switchyard/sdk-node';"));
    for (const file of ['wait.cjs', 'wait.mjs']) {
      expect(JSON.parse(sh(`node ${file}`, app)), file).toEqual({ code: 'TIMEOUT', waited: true });
    }
  });

  it('ships declarations for both', () => {
    const pkg = JSON.parse(readFileSync(join(installed('sdk-node'), 'package.json'), 'utf8')) as {
      exports: Record<string, { import: { types: string }; require: { types: string } }>;
    };
    for (const entry of ['.', './openfeature']) {
      for (const kind of ['import', 'require'] as const) {
        const types = pkg.exports[entry]?.[kind].types as string;
        expect(existsSync(join(installed('sdk-node'), types)), `${entry} ${kind}`).toBe(true);
      }
    }
  });

  describe("with a server, the README's Node SDK snippet", () => {
    let live: LiveServer;
    afterAll(async () => live?.s.close());

    it('prints the value of search-v2 for user-42 and why', async () => {
      live = await startLiveServer();
      await createFlag(live, 'search-v2', { enabled: true, defaultServe: { variant: 'on' } });
      const { token } = await live.key('server');
      writeFileSync(join(app, 'flags.mjs'), nodeSnippet);
      // Asynchronously: the server answering the snippet runs in this process.
      const { stdout: out } = await promisify(execFile)(process.execPath, ['flags.mjs'], {
        cwd: app,
        env: { ...process.env, SERVER_KEY: token, BASE: live.url },
      });
      expect(out).toMatch(/^search-v2 for user-42: true \(STATIC\)$/m);
      expect(out).toMatch(/^new search for user-42$/m);
    });
  });
});
