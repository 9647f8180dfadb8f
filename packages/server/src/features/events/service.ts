/**
 * What other domains may ask of the event store: the per-variant sums of a metric, and the
 * units exposed since a time. Behind it, the store could move to a column store (DESIGN §9)
 * without its callers noticing.
 */
export {
  exposedUnitsSince,
  type MetricTotals,
  metricTotals,
  metricTotalsSince,
  type VariantTotalsRow,
} from './store.js';
