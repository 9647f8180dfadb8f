import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { firstStartBanner, localBaseUrl, ownerBanner } from './first-start-banner.js';

const credentials = {
  adminToken: 'sy_admin_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  sdkKeys: [
    { environment: 'development', server: 'sy_server_dddddddddddddddddddddddddddddddd', client: 'sy_client_dd' },
    { environment: 'production', server: 'sy_server_pppppppppppppppppppppppppppppppp', client: 'sy_client_pp' },
  ],
};

describe('the first start banner', () => {
  const banner = firstStartBanner(credentials, 'http://127.0.0.1:5000');
  const lines = banner.split('\n');

  it("exports the walk-through's variables with the production keys, each saying which key it is", () => {
    const exports = lines.filter((l) => l.trim().startsWith('export '));
    expect(exports.map((l) => l.trim().split(/\s+/)[1])).toEqual([
      'BASE=http://127.0.0.1:5000',
      `TOKEN=${credentials.adminToken}`,
      'SERVER_KEY=sy_server_pppppppppppppppppppppppppppppppp',
      'CLIENT_KEY=sy_client_pp',
    ]);
    expect(exports[2]).toContain('# production server SDK key');
    expect(exports[3]).toContain('# production client SDK key');
  });

  it('aligns the comments of the export lines, and the keys of the other environments', () => {
    const commentColumns = new Set(lines.filter((l) => l.trim().startsWith('export ')).map((l) => l.indexOf('#')));
    expect(commentColumns.size).toBe(1);
    const others = lines.filter((l) => l.trim().startsWith('development '));
    expect(others).toHaveLength(2);
    expect(new Set(others.map((l) => l.indexOf('sy_'))).size).toBe(1);
  });

  it('prints lines a shell runs as they are, even for a chosen token that needs quoting', () => {
    const odd = firstStartBanner({ ...credentials, adminToken: "it's a $secret" }, 'http://127.0.0.1:5000');
    const script = odd
      .split('\n')
      .filter((l) => l.trim().startsWith('export '))
      .join('\n');
    const result = spawnSync('bash', ['-c', `${script}\nprintf '%s|%s' "$TOKEN" "$BASE"`], { encoding: 'utf8' });
    expect(result.stdout).toBe("it's a $secret|http://127.0.0.1:5000");
  });
});

describe("the owner's banner", () => {
  it('shows the owner email and the one-time password, aligned, and says how to change it', () => {
    const lines = ownerBanner({ email: 'owner@localhost', password: 'p4ssw0rd-shown-once' }).split('\n');
    const rows = lines.filter((l) => /^ {2}(owner email|password) /.test(l));
    expect(rows.map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['owner email', 'owner@localhost'],
      ['password', 'p4ssw0rd-shown-once'],
    ]);
    expect(new Set(rows.map((l) => l.lastIndexOf(' ') + 1)).size).toBe(1);
    expect(lines.join('\n')).toContain('PUT /api/v1/me/password');
  });
});

describe('the local base URL', () => {
  it('reaches a server listening on every interface through the loopback address', () => {
    expect(localBaseUrl('0.0.0.0', 4242)).toBe('http://127.0.0.1:4242');
    expect(localBaseUrl('::', 80)).toBe('http://127.0.0.1:80');
    expect(localBaseUrl('::1', 8080)).toBe('http://[::1]:8080');
    expect(localBaseUrl('flags.internal', 4242)).toBe('http://flags.internal:4242');
  });
});
