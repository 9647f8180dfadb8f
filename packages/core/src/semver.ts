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
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][\da-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][\da-zA-Z-]*))*))?(?:\+[\da-zA-Z-]+(?:\.[\da-zA-Z-]+)*)?$/;

const NUMERIC = /^\d+$/;

/** Parses a version, or returns `undefined` when it is not valid semver. */
export function parseSemver(input: string): SemVer | undefined {
  const m = input.length > 256 ? null : SEMVER.exec(input);
  if (m === null) return undefined;
  const [major, minor, patch] = m.slice(1, 4).map(Number) as [number, number, number];
  const prerelease = m[4]?.split('.').map((id) => (NUMERIC.test(id) ? Number(id) : id)) ?? [];
  // Numbers past 2^53 - 1 could compare equal to different ones.
  for (const n of [major, minor, patch, ...prerelease])
    if (typeof n === 'number' && !Number.isSafeInteger(n)) return undefined;
  return { major, minor, patch, prerelease };
}

/** Negative when `a` orders before `b`, zero when equal in precedence, positive after. */
export function compareSemver(a: SemVer, b: SemVer): number {
  const pa = a.prerelease;
  const pb = b.prerelease;
  // Differences of safe integers are exact, so nonzero whenever the parts differ. A release
  // (no pre-release) orders after its pre-releases.
  const order = a.major - b.major || a.minor - b.minor || a.patch - b.patch || Number(!pa.length) - Number(!pb.length);
  if (order !== 0) return order;
  for (let i = 0; i < pa.length && i < pb.length; i++) {
    const x = pa[i] as string | number;
    const y = pb[i] as string | number;
    if (x === y) continue;
    // Numeric identifiers order before alphanumeric ones; alike, numbers compare numerically and
    // strings in ASCII order.
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
