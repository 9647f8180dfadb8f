/**
 * What other domains may ask of the event store: the per-variant sums of a metric. Behind it,
 * the store could move to a column store (DESIGN §9) without its callers noticing.
 */
export { type MetricTotals, metricTotals, type VariantTotalsRow } from './store.js';
