import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  compile,
  type EvaluationContext,
  type EvaluationResult,
  type Flag,
  type FlagType,
  type Ruleset,
} from '@switchyard/core';
import { createClient, type SwitchyardClient } from '@switchyard/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveServer, startLiveServer } from './support.js';

/** The vector format of test/vectors/README.md. */
interface VectorSuite {
  name: string;
  ruleset: Ruleset;
  cases: {
    name: string;
    flag: string;
    context: unknown;
    default: unknown;
    type?: FlagType;
    expect: { value: unknown; variant?: string; reason: string; errorCode?: string; ruleId?: string };
  }[];
}

const dir = fileURLToPath(new URL('../vectors/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== 'murmur3_x86_32.json')
  .sort();
const vectors = files.map((file) => ({
  file,
  suites: JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as VectorSuite[],
}));

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const compared = (r: EvaluationResult<unknown> | VectorSuite['cases'][number]['expect']) => ({
  value: r.value,
  variant: r.variant,
  reason: r.reason,
  errorCode: r.errorCode,
  ruleId: r.ruleId,
});

describe('conformance vectors through the Node SDK (offline, each suite its own bootstrap)', () => {
  it('cover every vector file', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
    expect(vectors.reduce((n, v) => n + v.suites.reduce((m, s) => m + s.cases.length, 0), 0)).toBeGreaterThan(300);
  });

  for (const { file, suites } of vectors) {
    describe(file, () => {
      for (const suite of suites) {
        it(suite.name, async () => {
          const client = createClient({ offline: true, bootstrap: suite.ruleset, logger: silent });
          await client.waitForReady({ timeout: 1000 });
          const core = compile(suite.ruleset);
          for (const c of suite.cases) {
            const sdk = client.getDetail(c.flag, c.context as EvaluationContext, c.default, c.type);
            const reference = core.evaluate(c.flag, c.context as EvaluationContext, c.default, c.type);
            expect(compared(sdk), c.name).toEqual(compared(reference));
            expect(compared(sdk), c.name).toEqual(compared(c.expect));
          }
          await client.close();
        });
      }
    });
  }
});

/** A suite's flags and segments created through the management API, in a project of its own. */
async function createSuite(live: LiveServer, project: string, ruleset: Ruleset): Promise<boolean> {
  const api = `/api/v1/projects/${project}`;
  const call = (method: string, path: string, body?: unknown) => live.s.call(method, path, body);
  const created = async (method: string, path: string, body: unknown) =>
    (await call(method, path, body)).statusCode < 300;
  if (!(await created('POST', '/api/v1/projects', { key: project, name: project }))) return false;
  if (!(await created('POST', `${api}/environments`, { key: 'prod', name: 'prod' }))) return false;
  for (const s of ruleset.segments) {
    const { version: _v, ...body } = s;
    if (!(await created('POST', `${api}/environments/prod/segments`, { name: s.key, ...body }))) return false;
  }
  for (const f of ruleset.flags) {
    const body = { key: f.key, name: f.key, type: f.type, variants: f.variants, metadata: f.metadata ?? {} };
    if (!(await created('POST', `${api}/flags`, body))) return false;
  }
  for (const f of ruleset.flags as Flag[]) {
    const config = {
      enabled: f.enabled,
      offVariant: f.offVariant ?? null,
      prerequisites: f.prerequisites ?? [],
      targets: f.targets ?? [],
      rules: f.rules ?? [],
      defaultServe: f.defaultServe,
      salt: f.salt ?? null,
    };
    if (!(await created('PUT', `${api}/flags/${f.key}/environments/prod`, config))) return false;
  }
  return true;
}

describe('conformance vectors through the Node SDK streaming from a real server', () => {
  let live: LiveServer;
  const clients: SwitchyardClient[] = [];
  const streamed: { suite: VectorSuite; client: SwitchyardClient }[] = [];

  beforeAll(async () => {
    live = await startLiveServer();
    // Files whose rulesets are broken on purpose are left out: the server refuses them.
    const chosen = vectors
      .filter((v) => !['errors.json', 'hostile-contexts.json'].includes(v.file))
      .flatMap((v) => v.suites);
    let n = 0;
    for (const suite of chosen) {
      const project = `suite-${n++}`;
      // Deliberately broken configurations are refused by the server: those suites stay offline-only.
      if (!(await createSuite(live, project, suite.ruleset))) continue;
      const key = await live.ok('POST', '/api/v1/keys', { name: 'k', type: 'server', project, environment: 'prod' });
      const client = createClient({ sdkKey: key.token as string, baseUrl: live.url, logger: silent });
      clients.push(client);
      streamed.push({ suite, client });
    }
    await Promise.all(clients.map((c) => c.waitForReady({ timeout: 10_000 })));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await live?.s.close();
  });

  it('serves every case of the suites the server accepts exactly as the vectors expect', () => {
    expect(streamed.length).toBeGreaterThanOrEqual(20);
    let cases = 0;
    for (const { suite, client } of streamed) {
      expect(client.connectionMode, suite.name).toBe('streaming');
      for (const c of suite.cases) {
        const sdk = client.getDetail(c.flag, c.context as EvaluationContext, c.default, c.type);
        expect(compared(sdk), `${suite.name} / ${c.name}`).toEqual(compared(c.expect));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(300);
  });
});
