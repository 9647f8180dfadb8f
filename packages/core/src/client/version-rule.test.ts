import { describe, expect, it } from 'vitest';
import { isOlderPut } from './version-rule.js';

describe('the version rule for puts', () => {
  const held = { environment: 'web/prod', version: 7 };

  it("ignores a server's put older than the server's ruleset held", () => {
    expect(isOlderPut(held, true, { environment: 'web/prod', version: 6 })).toBe(true);
    expect(isOlderPut(held, true, { environment: 'web/prod', version: 7 })).toBe(false);
    expect(isOlderPut(held, true, { environment: 'web/prod', version: 8 })).toBe(false);
  });

  it('lets the server replace a stand-in, another environment, or nothing, whatever the versions', () => {
    expect(isOlderPut(held, false, { environment: 'web/prod', version: 1 })).toBe(false);
    expect(isOlderPut(held, true, { environment: 'web/staging', version: 1 })).toBe(false);
    expect(isOlderPut(undefined, true, { environment: 'web/prod', version: 1 })).toBe(false);
  });
});
