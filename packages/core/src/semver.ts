/**
 * Semantic versions as semver.org 2.0.0 defines them: `MAJOR.MINOR.PATCH`, an optional
 * pre-release (`-alpha.1`) that orders before its release, and build metadata (`+build.5`)
 * that takes no part in ordering. A leading `v` is tolerated because app versions carry it.
 */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers; numeric ones as numbers. Empty for a release. */
  prerelease: (string | number)[];
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

const NUMERIC = /^\d+$/;

/** Parses a version, or returns `undefined` when it is not valid semver. */
export function parseSemver(input: string): SemVer | undefined {
  if (input.length > 256) return undefined;
  const m = SEMVER.exec(input);
  if (m === null) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch)) {
    return undefined;
  }
  const pre = m[4];
  const prerelease = pre === undefined ? [] : pre.split('.').map((id) => (NUMERIC.test(id) ? Number(id) : id));
  // Numeric identifiers compare numerically; past 2^53 - 1 two different ones could compare equal.
  for (const id of prerelease) if (typeof id === 'number' && !Number.isSafeInteger(id)) return undefined;
  return { major, minor, patch, prerelease };
}

/** Negative when `a` orders before `b`, zero when equal in precedence, positive after. */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  const pa = a.prerelease;
  const pb = b.prerelease;
  if (pa.length === 0 || pb.length === 0) return pb.length - pa.length;
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i] as string | number;
    const y = pb[i] as string | number;
    if (x === y) continue;
    const xNum = typeof x === 'number';
    const yNum = typeof y === 'number';
    // Numeric identifiers order before alphanumeric ones, which compare in ASCII order.
    if (xNum && yNum) return x - y;
    if (xNum) return -1;
    if (yNum) return 1;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
