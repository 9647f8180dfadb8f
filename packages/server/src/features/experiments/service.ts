import type { Serve } from '@switchyard/core';
import type { Principal } from '../../auth/principal.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { requireEnvironment } from '../environments/service.js';
import { exposedUnitsSince, metricTotals, type VariantTotalsRow } from '../events/service.js';
import { getConfig, getFlag } from '../flags/service.js';
import { requireMetric } from '../metrics/service.js';
import { requireProject } from '../projects/service.js';
import {
  type Comparison,
  compare,
  MIN_UNITS_PER_VARIANT,
  sampleRatioMismatch,
  summarize,
  type VariantSummary,
} from './stats/index.js';

export interface ResultsTarget {
  project: string;
  flag: string;
  env: string;
  metric: string;
  control?: string | undefined;
}

/** A lookup's 404, naming the request field it came from. */
async function naming<T>(field: string, lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', err.message, { field });
    throw err;
  }
}

/** How long after a configuration write SDKs may still serve the split before it. */
const SPLIT_SETTLE_MS = 1000;

/**
 * The split SRM is tested against: the weights of the configuration's `defaultServe` rollout,
 * where an experiment splits its traffic. `null` when it serves one variant (there is no split
 * to test). Units that individual targets or rules serve count in their variant like any
 * other, so they show as a mismatch: an experiment keeps them out (docs/experiments.md).
 */
function configuredWeights(defaultServe: Serve): Map<string, number> | null {
  if (!('rollout' in defaultServe)) return null;
  const weights = new Map<string, number>();
  for (const w of defaultServe.rollout.weights) weights.set(w.variant, (weights.get(w.variant) ?? 0) + w.weight);
  return weights;
}

/**
 * The results of an experiment on one flag in one environment for one metric (DESIGN §9):
 * per variant its units and metric, each other variant against the control, the sample-ratio
 * check, and whether there are enough units to read them.
 */
export async function experimentResults(db: Db, principal: Principal, t: ResultsTarget) {
  const project = await requireProject(db, principal, t.project);
  const env = await naming('env', () => requireEnvironment(db, project, t.env));
  const flag = await naming('flag', () => getFlag(db, principal, t.project, t.flag));
  const config = await naming('flag', () => getConfig(db, principal, t.project, t.flag, t.env));
  const metric = await naming('metric', () => requireMetric(db, project, t.metric));

  const flagVariants = flag.variants.map((v) => v.key);
  const control = t.control ?? config.offVariant ?? flagVariants[0];
  if (control === undefined || !flagVariants.includes(control)) {
    throw new AppError('NOT_FOUND', `variant ${JSON.stringify(control)} is not a variant of flag "${flag.key}"`, {
      field: 'control',
    });
  }

  const totals = await metricTotals(db, { environmentId: env.id, flag: flag.key, event: metric.event });
  const byVariant = new Map<string, VariantTotalsRow>(totals.variants.map((v) => [v.variant, v]));
  const weights = configuredWeights(config.defaultServe);

  // The experiment's variants: the control, those the split serves, and any that has units
  // (variants exposed that the flag no longer has included: they are part of what happened).
  const inExperiment = (v: string) => v === control || (weights?.get(v) ?? 0) > 0 || byVariant.has(v);
  const names = [
    ...flagVariants.filter(inExperiment),
    ...[...byVariant.keys()].filter((v) => !flagVariants.includes(v)).sort(),
  ];

  const summaries = new Map<string, VariantSummary>();
  const variants = names.map((variant) => {
    const row = byVariant.get(variant);
    const units = row?.units ?? 0;
    const conversions = row?.conversions ?? 0;
    const summary = summarize(
      metric.kind,
      metric.kind === 'conversion'
        ? { units, sum: conversions, sumOfSquares: conversions }
        : { units, sum: row?.sum ?? 0, sumOfSquares: row?.sumOfSquares ?? 0 },
    );
    summaries.set(variant, summary);
    return { variant, units, conversions, mean: summary.mean, variance: summary.variance };
  });

  // The split as configured holds since the configuration was last written: the units assigned
  // under an earlier split (a release plan's earlier stage) would show as a mismatch for good.
  // SRM tests the units first exposed since then, past the moment SDKs may still have served
  // the previous split.
  const splitSince = new Date(Date.parse(config.updatedAt) + SPLIT_SETTLE_MS);
  const sinceSplit =
    weights === null
      ? undefined
      : (await exposedUnitsSince(db, { environmentId: env.id, flag: flag.key, since: splitSince })).units;
  const srm =
    weights === null || sinceSplit === undefined
      ? { pValue: null, mismatch: false, weights: null, since: null, units: null }
      : {
          ...sampleRatioMismatch(
            variants.map((v) => sinceSplit.get(v.variant) ?? 0),
            variants.map((v) => weights.get(v.variant) ?? 0),
          ),
          weights: variants.map((v) => ({ variant: v.variant, weight: weights.get(v.variant) ?? 0 })),
          since: splitSince.toISOString(),
          units: variants.map((v) => ({ variant: v.variant, units: sinceSplit.get(v.variant) ?? 0 })),
        };

  const controlSummary = summaries.get(control) as VariantSummary;
  const comparisons = variants
    .filter((v) => v.variant !== control)
    .map((v) => ({
      variant: v.variant,
      ...compare(controlSummary, summaries.get(v.variant) as VariantSummary),
    })) satisfies ({ variant: string } & Comparison)[];

  return {
    flag: flag.key,
    environment: env.key,
    metric: { key: metric.key, event: metric.event, kind: metric.kind, direction: metric.direction },
    control,
    status: variants.every((v) => v.units >= MIN_UNITS_PER_VARIANT) ? ('ready' as const) : ('not-enough-data' as const),
    minUnitsPerVariant: MIN_UNITS_PER_VARIANT,
    srm,
    variants,
    comparisons,
    excludedUnits: totals.excludedUnits,
  };
}
