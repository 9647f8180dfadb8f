import { z } from 'zod';
import { Key, Reason, Revision, Timestamp } from '../../http/common-schemas.js';
import { VariantKey } from '../flags/schemas.js';

/** A percent to 0.001 %, the finest step of a rollout weight. */
const Percent = z
  .number()
  .gt(0)
  .max(100)
  .refine((p) => Math.abs(p * 1000 - Math.round(p * 1000)) < 1e-6, 'must be a multiple of 0.001');

export const StageSchema = z
  .object({
    percent: Percent,
    /** How long the stage is held at least before the plan moves on. */
    holdSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400),
    /** Units exposed (to the variant or the control) during the stage before it may move on. */
    minUnits: z.number().int().min(0).max(1_000_000_000).default(0),
  })
  .strict();

export const GuardSchema = z.union([
  z.object({ metric: Key, max: z.number().finite() }).strict(),
  z.object({ metric: Key, min: z.number().finite() }).strict(),
  /** Relative: 0.1 tolerates the variant being up to 10 % worse than the control. */
  z.object({ metric: Key, maxRegression: z.number().min(0).max(100) }).strict(),
]);

/** Stages of a plan whose body gives none: 1 → 5 → 25 → 50 → 100 %, each held ten minutes. */
export const DEFAULT_STAGES = [1, 5, 25, 50, 100].map((percent) => ({ percent, holdSeconds: 600, minUnits: 0 }));

export const PutPlanBody = z
  .object({
    /** The variant released. */
    variant: VariantKey,
    /** What the rest get; defaults to the configuration's offVariant, else the flag's first other variant. */
    control: VariantKey.optional(),
    stages: z
      .array(StageSchema)
      .min(1)
      .max(20)
      .refine((stages) => stages.every((s, i) => i === 0 || s.percent > (stages[i - 1]?.percent ?? 0)), {
        message: 'percents must increase from stage to stage',
      })
      .optional(),
    guards: z.array(GuardSchema).max(20).default([]),
    onBreach: z.enum(['rollback', 'kill', 'pause']).default('rollback'),
    reason: Reason.optional(),
  })
  .strict();
export type PutPlanBody = z.infer<typeof PutPlanBody>;

/** The body of start, pause, resume, advance and abort: optional, like a kill's. */
export const StepBody = z.preprocess((body) => body ?? {}, z.object({ reason: Reason.optional() }).strict());

export const PLAN_ACTIONS = ['start', 'pause', 'resume', 'advance', 'abort'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

/** A release plan as the API shows it (`service.planView`). */
export const PlanView = z.object({
  id: z.uuid(),
  flag: Key,
  environment: Key,
  variant: z.string(),
  control: z.string(),
  stages: z.array(StageSchema.required({ minUnits: true })),
  guards: z.array(GuardSchema),
  onBreach: z.enum(['rollback', 'kill', 'pause']),
  state: z.enum(['draft', 'running', 'paused', 'completed', 'rolled_back', 'aborted']),
  /** The 1-based stage the plan is at and the percent it serves; `null` before it starts. */
  stage: z.object({ number: z.number().int(), percent: z.number() }).nullable(),
  startedAt: Timestamp.nullable(),
  stageStartedAt: Timestamp.nullable(),
  revision: Revision,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** `GET` of a plan: its view and what happened to it, oldest first. */
export const PlanDetail = PlanView.extend({
  history: z.array(
    z.object({
      at: Timestamp,
      actor: z.string(),
      action: z.string(),
      state: z.string(),
      stage: z.number().int().nullable(),
      reason: z.string(),
      details: z.unknown(),
    }),
  ),
});

const PerSide = z.object({ variant: z.number(), control: z.number() });

/**
 * `GET` of a plan's figures: what the controller judges on its next tick, read the same way: the
 * current stage's hold and units since the stage began, and each guard's metric since the plan
 * started with where the guard stands.
 */
export const PlanFigures = z.object({
  state: PlanView.shape.state,
  stage: z
    .object({
      number: z.number().int(),
      percent: z.number(),
      heldSeconds: z.number().int(),
      holdSeconds: z.number().int(),
      units: PerSide,
      minUnits: z.number().int(),
    })
    .nullable(),
  guards: z.array(
    z.object({
      guard: GuardSchema,
      units: PerSide,
      /** Conversion rate or mean of the metric per side, over every unit since the plan started. */
      value: PerSide,
      /**
       * The variant's change relative to control. For a `maxRegression` guard, as it is judged: the
       * sides compared stage by stage, so it may differ from what `value` would suggest when the
       * stages split traffic differently; `null` until both sides have 20 units.
       */
      relative: z.number().nullable(),
      /**
       * The always-valid 95 % interval of the relative difference. For a `maxRegression` guard, the
       * one it is judged by (stage by stage, pooled variance), `null` until both sides have 20 units.
       */
      interval: z.tuple([z.number(), z.number()]).nullable(),
      /**
       * A `maxRegression` guard over a control whose mean is 0 (no relative change exists): the
       * variant's mean minus control's and the always-valid 95 % interval it is judged by, with
       * the pooled variance. `null` otherwise, and while there are too few units.
       */
      difference: z.object({ estimate: z.number(), interval: z.tuple([z.number(), z.number()]) }).nullable(),
      standing: z.enum(['waiting', 'within', 'breached', 'metric-missing']),
    }),
  ),
  at: Timestamp,
});
