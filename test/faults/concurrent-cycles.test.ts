import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../packages/server/src/db/database.js';
import { buildServer } from '../../packages/server/src/server.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

const realPostgres = (process.env.DATABASE_URL ?? '') !== '';
const API = '/api/v1/projects/shop';
const RACES = 25;

// Two writers racing needs two instances on one real Postgres, each with its own pool: the
// embedded database runs every transaction after the other.
describe.skipIf(!realPostgres)('two instances writing halves of a cycle at the same moment', () => {
  let one: TestServer;
  let two: Awaited<ReturnType<typeof buildServer>>;
  let closeTwo: () => Promise<void>;

  beforeAll(async () => {
    one = await startTestServer();
    const database = openPostgres(one.testDb.url as string, { max: 5 });
    two = await buildServer({ database, logger: false });
    closeTwo = async () => {
      await two.close();
      await database.close();
    };
    await one.ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
    await one.ok('POST', `${API}/environments`, { key: 'prod', name: 'Production' });
  });

  afterAll(async () => {
    await closeTwo?.();
    await one?.close();
  });

  const onTwo = (method: string, url: string, body: unknown) =>
    two.inject({
      method: method as 'PUT',
      url,
      headers: { authorization: `Bearer ${one.adminToken}` },
      payload: body as object,
    });

  it('stores one of two prerequisites that together would form a cycle, and refuses the other with 422', async () => {
    for (let i = 0; i < RACES; i++) {
      await one.ok('POST', `${API}/flags`, { key: `a${i}`, name: 'A', type: 'boolean' });
      await one.ok('POST', `${API}/flags`, { key: `b${i}`, name: 'B', type: 'boolean' });
    }
    const outcomes: string[] = [];
    for (let i = 0; i < RACES; i++) {
      outcomes.push(
        await (async () => {
          const [first, second] = await Promise.all([
            one.call('PATCH', `${API}/flags/a${i}/environments/prod`, {
              prerequisites: [{ flag: `b${i}`, variants: ['on'] }],
            }),
            onTwo('PATCH', `${API}/flags/b${i}/environments/prod`, {
              prerequisites: [{ flag: `a${i}`, variants: ['on'] }],
            }),
          ]);
          return [first.statusCode, second.statusCode].sort().join(' ');
        })(),
      );
    }
    expect(outcomes).toEqual(Array.from({ length: RACES }, () => '200 422'));
  });

  it('stores one of two segments that together would form a cycle, and refuses the other with 422', async () => {
    const segments = `${API}/environments/prod/segments`;
    const inSegment = (key: string) => [{ clauses: [{ attribute: 'key', op: 'inSegment', values: [key] }] }];
    for (let i = 0; i < RACES; i++) {
      await one.ok('POST', segments, { key: `s${i}`, name: 'S' });
      await one.ok('POST', segments, { key: `t${i}`, name: 'T' });
    }
    const outcomes: string[] = [];
    for (let i = 0; i < RACES; i++) {
      outcomes.push(
        await (async () => {
          const [first, second] = await Promise.all([
            one.call('PUT', `${segments}/s${i}`, { name: 'S', rules: inSegment(`t${i}`) }),
            onTwo('PUT', `${segments}/t${i}`, { name: 'T', rules: inSegment(`s${i}`) }),
          ]);
          return [first.statusCode, second.statusCode].sort().join(' ');
        })(),
      );
    }
    expect(outcomes).toEqual(Array.from({ length: RACES }, () => '200 422'));
  });
});
