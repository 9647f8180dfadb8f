import { describe, expect, it } from 'vitest';
import { compareSemver, parseSemver, type SemVer } from './semver.js';

function parsed(input: string): SemVer {
  const v = parseSemver(input);
  if (v === undefined) throw new Error(`test setup: ${input} should parse`);
  return v;
}

function order(a: string, b: string): number {
  return Math.sign(compareSemver(parsed(a), parsed(b)));
}

describe('parseSemver', () => {
  it('reads major, minor and patch as numbers', () => {
    expect(parseSemver('1.22.333')).toEqual({ major: 1, minor: 22, patch: 333, prerelease: [] });
    expect(parseSemver('0.0.0')).toEqual({ major: 0, minor: 0, patch: 0, prerelease: [] });
  });

  it('reads pre-release identifiers, numeric ones as numbers', () => {
    expect(parseSemver('1.0.0-alpha.1')?.prerelease).toEqual(['alpha', 1]);
    expect(parseSemver('1.0.0-0.3.7')?.prerelease).toEqual([0, 3, 7]);
    expect(parseSemver('1.0.0-x.7.z.92')?.prerelease).toEqual(['x', 7, 'z', 92]);
    expect(parseSemver('1.0.0-x-y-z.--')?.prerelease).toEqual(['x-y-z', '--']);
  });

  it('treats an identifier with digits and letters as alphanumeric, even with a leading zero', () => {
    expect(parseSemver('1.0.0-0a')?.prerelease).toEqual(['0a']);
    expect(parseSemver('1.0.0-01a')?.prerelease).toEqual(['01a']);
    expect(parseSemver('1.0.0--1')?.prerelease).toEqual(['-1']);
  });

  it('accepts build metadata and leaves it out of the version', () => {
    expect(parseSemver('1.0.0+20130313144700')).toEqual(parseSemver('1.0.0'));
    expect(parseSemver('1.0.0-beta+exp.sha.5114f85')).toEqual(parseSemver('1.0.0-beta'));
    expect(parseSemver('1.0.0+21AF26D3----117B344092BD')).toEqual(parseSemver('1.0.0'));
    expect(parseSemver('1.0.0+001')).toEqual(parseSemver('1.0.0'));
  });

  it('accepts a leading v', () => {
    expect(parseSemver('v2.3.4-rc.1')).toEqual(parseSemver('2.3.4-rc.1'));
  });

  it.each([
    ['an empty string', ''],
    ['two components', '1.2'],
    ['one component', '1'],
    ['four components', '1.2.3.4'],
    ['a leading zero in major', '01.2.3'],
    ['a leading zero in minor', '1.02.3'],
    ['a leading zero in patch', '1.2.03'],
    ['a leading zero in a numeric pre-release identifier', '1.2.3-01'],
    ['an empty pre-release', '1.2.3-'],
    ['an empty pre-release identifier', '1.2.3-alpha..1'],
    ['a trailing dot in the pre-release', '1.2.3-alpha.'],
    ['empty build metadata', '1.2.3+'],
    ['an empty build identifier', '1.2.3+a..b'],
    ['an underscore in a pre-release', '1.2.3-alpha_1'],
    ['a non-ASCII pre-release', '1.2.3-βeta'],
    ['a capital V', 'V1.2.3'],
    ['two leading vs', 'vv1.2.3'],
    ['surrounding whitespace', ' 1.2.3'],
    ['a trailing newline', '1.2.3\n'],
    ['a negative number', '-1.2.3'],
    ['a wildcard', '1.x.3'],
    ['a range', '>=1.2.3'],
    ['a major beyond 2^53 - 1', '9007199254740992.0.0'],
    ['a numeric pre-release identifier beyond 2^53 - 1', '1.0.0-rc.9007199254740993'],
    ['a version longer than 256 characters', `1.0.0-${'a'.repeat(251)}`],
  ])('refuses %s', (_what, input) => {
    expect(parseSemver(input)).toBeUndefined();
  });

  it('accepts the largest safe integer as a component', () => {
    expect(parseSemver('9007199254740991.0.0')?.major).toBe(9007199254740991);
  });
});

describe('compareSemver', () => {
  it('orders by major, then minor, then patch, numerically', () => {
    expect(order('1.0.0', '2.0.0')).toBe(-1);
    expect(order('2.0.0', '2.1.0')).toBe(-1);
    expect(order('2.1.0', '2.1.1')).toBe(-1);
    expect(order('1.10.0', '1.9.0')).toBe(1);
    expect(order('10.0.0', '9.99.99')).toBe(1);
  });

  it('orders the semver.org pre-release example list from lowest to highest', () => {
    const list = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    for (let i = 0; i < list.length; i++) {
      for (let j = 0; j < list.length; j++) {
        expect(order(list[i] as string, list[j] as string), `${list[i]} vs ${list[j]}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('orders a pre-release before its release and after the previous release', () => {
    expect(order('1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(order('1.0.0', '1.0.0-rc.1')).toBe(1);
    expect(order('0.9.9', '1.0.0-0')).toBe(-1);
  });

  it('compares numeric identifiers numerically and before alphanumeric ones', () => {
    expect(order('1.0.0-2', '1.0.0-10')).toBe(-1);
    expect(order('1.0.0-999', '1.0.0-a')).toBe(-1);
    expect(order('1.0.0-a', '1.0.0-1')).toBe(1);
  });

  it('compares alphanumeric identifiers in ASCII order, so capitals come first', () => {
    expect(order('1.0.0-Beta', '1.0.0-alpha')).toBe(-1);
    expect(order('1.0.0-alpha-2', '1.0.0-alpha2')).toBe(-1);
    expect(order('1.0.0-a10', '1.0.0-a9')).toBe(-1);
  });

  it('orders a shorter pre-release before a longer one it is a prefix of', () => {
    expect(order('1.0.0-alpha', '1.0.0-alpha.0')).toBe(-1);
    expect(order('1.0.0-1.2', '1.0.0-1.2.0')).toBe(-1);
  });

  it('ignores build metadata and a leading v', () => {
    expect(order('1.0.0+build.1', '1.0.0+build.2')).toBe(0);
    expect(order('v1.0.0-rc.1+x', '1.0.0-rc.1')).toBe(0);
  });

  it('is antisymmetric and treats equal versions as equal', () => {
    expect(order('1.2.3-alpha.7', '1.2.3-alpha.7')).toBe(0);
    expect(order('3.0.0-x.1', '3.0.0-x.y')).toBe(-order('3.0.0-x.y', '3.0.0-x.1'));
  });
});
