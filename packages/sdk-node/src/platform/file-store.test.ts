import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from './file-store.js';

describe('FileStore', () => {
  it('keeps one value under its key, replacing the file whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-file-store-'));
    const store = new FileStore(join(dir, 'deeper', 'cache.json'));
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', 'first');
    await store.set('k', 'second');
    expect(await store.get('k')).toBe('second');
    expect(readdirSync(join(dir, 'deeper'))).toEqual(['cache.json']);
  });

  it('does not serve a value written under another key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-file-store-'));
    const store = new FileStore(join(dir, 'cache.json'));
    await store.set('environment-a', 'flags of a');
    expect(await store.get('environment-b')).toBeUndefined();
  });

  it('rejects on a corrupt file, for the client to log and ignore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-file-store-'));
    writeFileSync(join(dir, 'cache.json'), '{"key": "k", "val');
    await expect(new FileStore(join(dir, 'cache.json')).get('k')).rejects.toThrow(SyntaxError);
  });
});
