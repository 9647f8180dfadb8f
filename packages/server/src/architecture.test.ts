import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every source file of the server except tests and test support, as `[path relative to src, text]`. */
function sources(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'test-support') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        out.push([relative(SRC, path).split('\\').join('/'), readFileSync(path, 'utf8')]);
      }
    }
  };
  walk(SRC);
  return out;
}

/** `[file, offending text]` for every match of `pattern` in the files `where` selects. */
function offences(pattern: RegExp, where: (file: string) => boolean): string[] {
  return sources()
    .filter(([file]) => where(file))
    .flatMap(([file, text]) => [...text.matchAll(pattern)].map((m) => `${file}: ${m[0]}`));
}

describe('the server source', () => {
  it("has no domain importing another domain's store: domains talk through services", () => {
    const found = sources().flatMap(([file, text]) => {
      const domain = /^features\/([^/]+)\//.exec(file)?.[1];
      return [...text.matchAll(/from '\.\.\/([^/]+)\/store\.js'/g)]
        .filter((m) => domain !== undefined && m[1] !== domain)
        .map((m) => `${file} imports ${m[1]}/store`);
    });
    expect(found).toEqual([]);
  });

  it('writes the audit log, the outbox and environment versions only in features/changes', () => {
    const pattern = /\.insert\((auditEntries|changes)\)|\.update\(environments\)\s*\.set\(\{[^}]*\bversion\b/g;
    expect(offences(pattern, (file) => !file.startsWith('features/changes/'))).toEqual([]);
  });

  it('lets delivery read the database only through the rulesets read model and other services', () => {
    expect(offences(/from '[./]*db\/schema\.js'/g, (file) => file.startsWith('features/delivery/'))).toEqual([]);
  });

  it('keeps no registry at module level: shared state is an object built in buildServer', () => {
    expect(offences(/^(?:const|let) \w+ = new (?:Weak)?(?:Map|Set)\b/gm, () => true)).toEqual([]);
  });
});
