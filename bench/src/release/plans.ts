/** The guard of both plans: the released variant's error rate may be at most 50 % above the control's. */
export const GUARD = { metric: 'errors', maxRegression: 0.5 } as const;

export interface PlanSpec {
  readonly name: string;
  readonly stages: readonly { percent: number; holdSeconds: number; minUnits: number }[];
  /** The share of each variant's users who report an error. */
  readonly errorRate: Readonly<Record<'new' | 'old', number>>;
  readonly expected: 'completed' | 'rolled_back';
}

/** Every stage held 2 s and until 200 units were exposed in it. */
const stages = (percents: number[]) => percents.map((percent) => ({ percent, holdSeconds: 2, minUnits: 200 }));

/** Both variants fail alike: the plan walks every stage to 100 %. */
export const HEALTHY: PlanSpec = {
  name: 'healthy',
  stages: stages([1, 5, 25, 50, 100]),
  errorRate: { new: 0.05, old: 0.05 },
  expected: 'completed',
};

/** The released variant fails four times as often: the guard rolls it back, within a few seconds at these rates. */
export const REGRESSING: PlanSpec = {
  name: 'regressing',
  stages: stages([5, 25, 50, 100]),
  errorRate: { new: 0.2, old: 0.05 },
  expected: 'rolled_back',
};
