export { checkFlag, checkSegment, type ConfigProblem } from './check.js';
export { BUCKET_POINTS, encodeUtf8, Murmur3Utf8, utf8Bytes } from './bucket.js';
export { FLAG_TYPES, valueHasType } from './compile-flag.js';
export { ConfigError, RulesetError } from './config-error.js';
export { compile, Evaluator } from './evaluator.js';
export { MAX_REGEX_LENGTH, OPERATORS, toInstant } from './operators.js';
export type { ErrorCode, EvaluationResult, Reason } from './reasons.js';
export { compareSemver, parseSemver, type SemVer } from './semver.js';
export * from './types.js';
