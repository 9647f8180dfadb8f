import type { FirstOwner, SeededCredentials } from './seed.js';

/** The environment whose keys the README's walk-through exports as SERVER_KEY and CLIENT_KEY. */
const WALK_THROUGH_ENVIRONMENT = 'production';

/** Quotes a value for a POSIX shell only when it needs it (a chosen admin token may hold anything). */
function shellValue(value: string): string {
  return /^[\w.:/@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Pads the first column of every row to the widest, so the second column lines up. */
function columns(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd());
}

/**
 * The text the first start prints: the variables the README's walk-through uses, as `export`
 * lines to paste into a shell, each saying which key it is; then the keys of the other
 * environments. The keys are never shown again.
 */
export function firstStartBanner(credentials: SeededCredentials, baseUrl: string): string {
  const walkThrough = credentials.sdkKeys.find((k) => k.environment === WALK_THROUGH_ENVIRONMENT);
  const others = credentials.sdkKeys.filter((k) => k !== walkThrough);
  const exports: [string, string][] = [
    [`export BASE=${shellValue(baseUrl)}`, '# where this server listens'],
    [`export TOKEN=${shellValue(credentials.adminToken)}`, '# admin token: the management API, $BASE/api/v1'],
  ];
  if (walkThrough !== undefined) {
    exports.push(
      [
        `export SERVER_KEY=${walkThrough.server}`,
        `# ${walkThrough.environment} server SDK key: Node SDK, $BASE/sdk/v1`,
      ],
      [`export CLIENT_KEY=${walkThrough.client}`, `# ${walkThrough.environment} client SDK key: browsers (public)`],
    );
  }
  const otherRows = others.flatMap((k): [string, string][] => [
    [`${k.environment} server SDK key`, k.server],
    [`${k.environment} client SDK key`, k.client],
  ]);
  return [
    '',
    'Switchyard created the demo project (environments development and production) and these keys.',
    'They are shown once: keep them. Paste the export lines into the shell you follow the README in:',
    '',
    ...columns(exports),
    ...(otherRows.length === 0 ? [] : ['', ...columns(otherRows)]),
    '',
  ].join('\n');
}

/** The owner's sign-in, printed beside the keys: the password is shown once and should be changed. */
export function ownerBanner(owner: FirstOwner): string {
  return [
    'Switchyard created the organisation owner. Sign in with this password (shown once); the first',
    'sign-in asks you to choose your own (PUT /api/v1/me/password):',
    '',
    ...columns([
      ['owner email', owner.email],
      ['password', owner.password],
    ]),
    '',
  ].join('\n');
}

/** The URL a client on this machine uses to reach a server listening on `host:port`. */
export function localBaseUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
