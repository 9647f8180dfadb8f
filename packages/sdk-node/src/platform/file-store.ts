import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeyValueStore } from './key-value-store.js';

/**
 * A one-file cache: the last ruleset, written whole to a temporary file and renamed over the
 * old one, so a crash mid-write never leaves half a ruleset behind. The file remembers the key
 * it was written under, so a file shared by mistake between environments is not served.
 */
export class FileStore implements KeyValueStore {
  constructor(readonly path: string) {}

  async get(key: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const entry = JSON.parse(text) as { key?: unknown; value?: unknown };
    return entry.key === key && typeof entry.value === 'string' ? entry.value : undefined;
  }

  async set(key: string, value: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify({ key, value }), 'utf8');
    await rename(temporary, this.path);
  }
}
