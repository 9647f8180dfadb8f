import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestServer } from './server.js';
import { snapshotDatabase } from './snapshot.js';

export interface ExpectedRefusal {
  status: number;
  code: string;
  /** `details.field`, when the refusal names the field at fault. */
  field?: string;
}

/**
 * Sends a request that must be refused: asserts its status, that the body is
 * `{error: {code, message, details}}`, and that the database is exactly as it was before.
 */
export async function expectRefusal(
  s: TestServer,
  request: () => Promise<LightMyRequestResponse>,
  expected: ExpectedRefusal,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  const before = await snapshotDatabase(s.testDb.database.db);
  const res = await request();
  const body = res.json();
  expect({ status: res.statusCode, code: body?.error?.code }).toEqual({
    status: expected.status,
    code: expected.code,
  });
  expect(Object.keys(body).sort()).toEqual(['error']);
  expect(body.error).toEqual({ code: expected.code, message: expect.any(String), details: expect.any(Object) });
  if (expected.field !== undefined) expect(body.error.details.field).toBe(expected.field);
  expect(await snapshotDatabase(s.testDb.database.db)).toEqual(before);
  return body.error;
}
