import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/database.js';
import { metricTotalsSince } from './store.js';

const ENV = '00000000-0000-4000-8000-000000000001';
const UNITS = 20_000;
/** Every fifth unit sent the event once, with value 1. */
const CONVERTERS = UNITS / 5;

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
  // Written straight into the tables, as ingestion keeps them, and never analyzed: the state of a
  // new deployment's tables, where the planner knows nothing of their sizes.
  await testDb.database.db.execute(sql`
    insert into exposure_units (environment_id, flag, context_key, variant, first_at, mixed)
    select ${ENV}::uuid, 'checkout', 'u' || i, case when i % 2 = 0 then 'new' else 'old' end, now(), false
    from generate_series(1, ${UNITS}::int) i`);
  await testDb.database.db.execute(sql`
    insert into unit_event_totals (environment_id, flag, event, context_key, variant, mixed, events, total)
    select ${ENV}::uuid, 'checkout', 'error', 'u' || i, case when i % 2 = 0 then 'new' else 'old' end, false, 1, 1
    from generate_series(5, ${UNITS}::int, 5) i`);
});
afterAll(async () => testDb?.drop());

describe("a release plan's guard totals", () => {
  it("are read over twenty thousand units in tables never analyzed, within the server's statement timeout", async () => {
    // The server's own pool (statement timeout 1.2 s): a plan whose guard could not be read
    // would never move again, every tick failing the same way.
    const totals = await metricTotalsSince(testDb.database.db, {
      environmentId: ENV,
      flag: 'checkout',
      event: 'error',
      since: new Date(Date.now() - 3_600_000),
    });
    expect(totals.variants.map((v) => [v.variant, v.units, v.conversions, v.sum])).toEqual([
      ['new', UNITS / 2, CONVERTERS / 2, CONVERTERS / 2],
      ['old', UNITS / 2, CONVERTERS / 2, CONVERTERS / 2],
    ]);
  });
});
