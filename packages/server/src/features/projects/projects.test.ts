import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
});

afterAll(async () => {
  await s?.close();
});

async function createProject(key: string, name = key) {
  const res = await s.call('POST', '/api/v1/projects', { key, name });
  expect(res.statusCode).toBe(201);
  return res.json();
}

describe('projects', () => {
  it('creates a project and answers 201 with its key, name and timestamps', async () => {
    const res = await s.call('POST', '/api/v1/projects', { key: 'alpha', name: 'Alpha' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      key: 'alpha',
      name: 'Alpha',
      revision: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(res.json().createdAt))).toBe(false);
  });

  it('lists every project in key order', async () => {
    await createProject('list-b');
    await createProject('list-a');
    const res = await s.call('GET', '/api/v1/projects');
    expect(res.statusCode).toBe(200);
    const keys: string[] = res.json().items.map((p: { key: string }) => p.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(['alpha', 'list-a', 'list-b']));
  });

  it('gets one project by its key', async () => {
    const res = await s.call('GET', '/api/v1/projects/alpha');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ key: 'alpha', name: 'Alpha' });
  });

  it('answers 404 in the error format for a project that does not exist', async () => {
    const res = await s.call('GET', '/api/v1/projects/nowhere');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String), details: {} } });
  });

  it('renames a project and keeps its key', async () => {
    await createProject('rename-me', 'Before');
    const res = await s.call('PATCH', '/api/v1/projects/rename-me', { name: 'After' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ key: 'rename-me', name: 'After' });
    expect((await s.call('GET', '/api/v1/projects/rename-me')).json().name).toBe('After');
  });

  it('refuses to rename a project that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('PATCH', '/api/v1/projects/nowhere', { name: 'x' }), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it('refuses a duplicate project key with 409 and changes nothing', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects', { key: 'alpha', name: 'Again' }), {
      status: 409,
      code: 'CONFLICT',
      field: 'key',
    });
    expect((await s.call('GET', '/api/v1/projects/alpha')).json().name).toBe('Alpha');
  });

  it.each([
    ['upper case', 'Alpha2'],
    ['a leading dash', '-alpha'],
    ['a space', 'al pha'],
    ['129 characters', 'a'.repeat(129)],
    ['an empty key', ''],
  ])('refuses a project key with %s with 400 on field key', async (_what, key) => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects', { key, name: 'x' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'key',
    });
  });

  it('accepts a project key of exactly 128 characters', async () => {
    await createProject(`b${'.'.repeat(127)}`);
  });

  it('refuses unknown fields and a blank name with 400', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects', { key: 'gamma', name: 'G', colour: 'red' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects', { key: 'gamma', name: '   ' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'name',
    });
    await expectRefusal(s, () => s.call('PATCH', '/api/v1/projects/alpha', { name: '' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'name',
    });
  });

  it('deletes an empty project with its environments and keys', async () => {
    await createProject('empty');
    expect(
      (await s.call('POST', '/api/v1/projects/empty/environments', { key: 'production', name: 'P' })).statusCode,
    ).toBe(201);
    const key = await s.call('POST', '/api/v1/keys', {
      name: 'empty server',
      type: 'server',
      project: 'empty',
      environment: 'production',
    });
    expect(key.statusCode).toBe(201);
    const res = await s.call('DELETE', '/api/v1/projects/empty');
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await s.call('GET', '/api/v1/projects/empty')).statusCode).toBe(404);
    const keys = (await s.call('GET', '/api/v1/keys')).json().items.map((k: { id: string }) => k.id);
    expect(keys).not.toContain(key.json().id);
    expect((await s.call('GET', '/api/v1/projects', undefined, { token: key.json().token })).statusCode).toBe(401);
  });

  it('refuses to delete a project that still has flags with 409 and changes nothing', async () => {
    await createProject('has-flags');
    await s.call('POST', '/api/v1/projects/has-flags/environments', { key: 'production', name: 'P' });
    const flag = await s.call('POST', '/api/v1/projects/has-flags/flags', { key: 'f', name: 'F', type: 'boolean' });
    expect(flag.statusCode).toBe(201);
    await expectRefusal(s, () => s.call('DELETE', '/api/v1/projects/has-flags'), { status: 409, code: 'CONFLICT' });
    expect((await s.call('GET', '/api/v1/projects/has-flags/flags/f')).statusCode).toBe(200);
  });

  it('refuses to delete a project that still has segments with 409 and keeps its environments', async () => {
    await createProject('has-segments');
    await s.call('POST', '/api/v1/projects/has-segments/environments', { key: 'production', name: 'P' });
    const segment = await s.call('POST', '/api/v1/projects/has-segments/environments/production/segments', {
      key: 'beta',
      name: 'Beta',
      included: ['u1'],
    });
    expect(segment.statusCode).toBe(201);
    await expectRefusal(s, () => s.call('DELETE', '/api/v1/projects/has-segments'), { status: 409, code: 'CONFLICT' });
    const envs = (await s.call('GET', '/api/v1/projects/has-segments/environments')).json().items;
    expect(envs.map((e: { key: string }) => e.key)).toEqual(['production']);
  });

  it('refuses to delete a project that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('DELETE', '/api/v1/projects/nowhere'), { status: 404, code: 'NOT_FOUND' });
  });
});
