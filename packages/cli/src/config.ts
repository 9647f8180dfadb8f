import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from './errors.js';

export interface StoredConfig {
  url: string;
  token: string;
  project?: string;
}

/** Where `login` keeps the URL and token: the XDG config directory, or the platform's own. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'switchyard', 'config.json');
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'switchyard', 'config.json');
  if (process.platform === 'darwin')
    return join(homedir(), 'Library', 'Application Support', 'switchyard', 'config.json');
  return join(homedir(), '.config', 'switchyard', 'config.json');
}

export async function readConfig(path = configPath()): Promise<StoredConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not valid JSON: run switchyard login again`);
  }
  const c = parsed as Partial<StoredConfig>;
  if (typeof c.url !== 'string' || typeof c.token !== 'string') {
    throw new UsageError(`${path} has no url and token: run switchyard login again`);
  }
  return { url: c.url, token: c.token, ...(typeof c.project === 'string' ? { project: c.project } : {}) };
}

/**
 * Writes the token readable by its owner only. The file is written aside and renamed, so a
 * reader never sees half of it, and created with mode 0600 so the token is never readable by
 * others, not even for an instant; chmod covers a directory or file made earlier with wider modes.
 */
export async function writeConfig(config: StoredConfig, path = configPath()): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export interface Connection {
  url: string;
  token: string;
  project: string | undefined;
}

/** The server and token to use: SWITCHYARD_URL / SWITCHYARD_TOKEN override what login stored. */
export async function connection(env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const stored = await readConfig(configPath(env));
  const url = env.SWITCHYARD_URL || stored?.url;
  const token = env.SWITCHYARD_TOKEN || stored?.token;
  if (url === undefined || token === undefined) {
    throw new UsageError(
      'not logged in: run `switchyard login --url URL --token TOKEN`, or set SWITCHYARD_URL and SWITCHYARD_TOKEN',
    );
  }
  return { url, token, project: env.SWITCHYARD_PROJECT || stored?.project };
}
