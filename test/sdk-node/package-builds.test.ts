import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(args: string[], cwd: string): string {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** An application outside the workspace that depends on the built package by name. */
let app: string;

beforeAll(() => {
  run([tsc, '-p', 'packages/core/tsconfig.build.json'], root);
  run(['packages/sdk-node/scripts/build.mjs'], root);
  app = mkdtempSync(join(tmpdir(), 'switchyard-app-'));
  mkdirSync(join(app, 'node_modules', '@switchyard'), { recursive: true });
  mkdirSync(join(app, 'node_modules', '@openfeature'), { recursive: true });
  symlinkSync(join(root, 'packages/sdk-node'), join(app, 'node_modules/@switchyard/sdk-node'));
  symlinkSync(join(root, 'packages/core'), join(app, 'node_modules/@switchyard/core'));
  // The peer dependency, as the application would have installed it.
  for (const name of ['server-sdk', 'core']) {
    const installed = realpathSync(join(root, 'packages/sdk-node/node_modules/@openfeature', name));
    symlinkSync(installed, join(app, 'node_modules/@openfeature', name));
  }
}, 120_000);

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

describe('the published builds of @switchyard/sdk-node', () => {
  it('load with require (CommonJS), the OpenFeature subpath included', () => {
    writeFileSync(
      join(app, 'main.cjs'),
      program("const sdk = require('@switchyard/sdk-node'); const of = require('@switchyard/sdk-node/openfeature');"),
    );
    expect(JSON.parse(run(['main.cjs'], app))).toEqual({
      value: 'A',
      details: { value: 'A', variant: 'a', reason: 'STATIC' },
      error: 'function',
    });
  });

  it('load with import (ESM), the OpenFeature subpath included', () => {
    writeFileSync(
      join(app, 'main.mjs'),
      program("import * as sdk from '@switchyard/sdk-node'; import * as of from '@switchyard/sdk-node/openfeature';"),
    );
    expect(JSON.parse(run(['main.mjs'], app))).toEqual({
      value: 'A',
      details: { value: 'A', variant: 'a', reason: 'STATIC' },
      error: 'function',
    });
  });

  it('ship declarations for both', () => {
    const pkg = createRequire(import.meta.url)(join(root, 'packages/sdk-node/package.json')) as {
      exports: Record<string, { import: { types: string }; require: { types: string } }>;
    };
    for (const entry of ['.', './openfeature']) {
      for (const kind of ['import', 'require'] as const) {
        const types = pkg.exports[entry]?.[kind].types as string;
        expect(existsSync(join(root, 'packages/sdk-node', types)), `${entry} ${kind}`).toBe(true);
      }
    }
  });
});
