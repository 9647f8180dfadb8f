export { type CompareOptions, type Comparison, type ComparisonCaveat, compare, type Interval } from './compare.js';
export { type SampleRatioMismatch, SRM_THRESHOLD, sampleRatioMismatch } from './sample-ratio-mismatch.js';
export { DEFAULT_ALPHA, DEFAULT_TUNING, sequentialHalfWidth } from './sequential.js';
export { type MetricKind, summarize, type VariantSummary, type VariantTotals } from './summarize.js';

/** Below this many units in any variant, results report `not-enough-data` instead of numbers. */
export const MIN_UNITS_PER_VARIANT = 100;
