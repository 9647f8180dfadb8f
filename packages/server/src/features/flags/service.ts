import { type Rule, type Serve, type Variant, valueHasType } from '@switchyard/core';
import type { Principal } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import {
  type Actor,
  type AuditRecord,
  commitChange,
  type EntryRef,
  lockEnvironments,
  noChange,
  type Writer,
} from '../changes/commit-change.js';
import { assertRevision, etagOf } from '../changes/precondition.js';
import { type Environment, environmentsOf, requireEnvironment } from '../environments/service.js';
import { lockProjectStructure, type Project, requireProject } from '../projects/service.js';
import { refuseCatastrophicPatterns } from '../rulesets/safe-patterns.js';
import { initialConfig } from './initial-config.js';
import {
  type CreateFlagBody,
  type PatchConfigBody,
  type ReplaceConfigBody,
  toServe,
  type UpdateFlagBody,
} from './schemas.js';
import * as store from './store.js';
import { validateConfig, withRuleIds } from './validate-config.js';

export type { ConfigFields, ConfigRow, FlagRow } from './store.js';

const BOOLEAN_VARIANTS: Variant[] = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

export function flagView(f: store.FlagRow) {
  return {
    key: f.key,
    name: f.name,
    description: f.description,
    tags: f.tags,
    type: f.type,
    variants: f.variants,
    clientSide: f.clientSide,
    archived: f.archived,
    metadata: f.metadata,
    revision: f.revision,
    createdAt: f.createdAt.toISOString(),
    updatedAt: f.updatedAt.toISOString(),
  };
}

export function configView(flag: store.FlagRow, env: Environment, c: store.ConfigRow) {
  return {
    flag: flag.key,
    environment: env.key,
    enabled: c.enabled,
    offVariant: c.offVariant,
    prerequisites: c.prerequisites,
    targets: c.targets,
    rules: c.rules,
    defaultServe: c.defaultServe,
    salt: c.salt,
    measured: c.measured,
    version: c.version,
    updatedAt: c.updatedAt.toISOString(),
  };
}

function checkVariants(type: store.FlagRow['type'], variants: Variant[] | undefined): Variant[] {
  if (type === 'boolean') {
    const same =
      variants === undefined ||
      (variants.length === 2 &&
        BOOLEAN_VARIANTS.every((b) => variants.some((v) => v.key === b.key && v.value === b.value)));
    if (!same)
      throw new AppError('INVALID_CONFIG', 'a boolean flag has exactly the variants on (true) and off (false)', {
        field: 'variants',
      });
    return BOOLEAN_VARIANTS;
  }
  if (variants === undefined)
    throw new AppError('VALIDATION_FAILED', `a ${type} flag needs variants`, { field: 'variants' });
  const seen = new Set<string>();
  variants.forEach((v, i) => {
    if (seen.has(v.key))
      throw new AppError('INVALID_CONFIG', `variant ${JSON.stringify(v.key)} appears twice`, {
        field: `variants[${i}].key`,
      });
    seen.add(v.key);
    if (!valueHasType(v.value, type) || (type === 'json' && v.value === null)) {
      throw new AppError('INVALID_CONFIG', `the value of a ${type} flag's variant must be a ${type}`, {
        field: `variants[${i}].value`,
      });
    }
  });
  return variants;
}

export async function createFlag(w: Writer, actor: Actor, projectKey: string, body: CreateFlagBody) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  const variants = checkVariants(body.type, body.variants as Variant[] | undefined);
  return commitChange(w, actor, async (tx) => {
    await lockProjectStructure(tx, project);
    const envs = await environmentsOf(tx, project);
    return {
      entries: flagEntries(envs, body.key),
      apply: async (versions) => {
        const flag = await store.insertFlag(tx, {
          projectId: project.id,
          key: body.key,
          name: body.name,
          description: body.description,
          tags: body.tags,
          type: body.type,
          variants,
          clientSide: body.clientSide,
          archived: false,
          metadata: body.metadata,
        });
        const fields = initialConfig(flag);
        await store.insertConfigs(
          tx,
          envs.map((e) => ({ flagId: flag.id, environmentId: e.id, version: versions.get(e.id) as number, fields })),
        );
        return { result: flag, audit: [flagAudit(project, 'flag.create', null, flag)] };
      },
    };
  });
}

/** Gives every flag of the project its initial configuration in a new environment. */
export async function configureFlagsIn(tx: Tx, project: Project, environmentId: string, version: number) {
  const flags = await store.listFlags(tx, project.id, { archived: undefined });
  await store.insertConfigs(
    tx,
    flags.map((f) => ({ flagId: f.id, environmentId, version, fields: initialConfig(f) })),
  );
}

/** Every flag's rules in one environment, archived flags included: what segment deletion checks. */
export async function flagRulesIn(
  tx: Tx,
  project: Project,
  environmentId: string,
): Promise<{ flag: string; rules: Rule[] }[]> {
  const keyOf = new Map((await store.listFlags(tx, project.id, { archived: undefined })).map((f) => [f.id, f.key]));
  return (await store.configsOfEnvironment(tx, environmentId)).map((c) => ({
    flag: keyOf.get(c.flagId) as string,
    rules: c.rules,
  }));
}

/** The flags matching `q`, each with every environment's on/off state and version, as `getFlag` shows one. */
export async function listFlagSummaries(
  db: Db,
  principal: Principal,
  projectKey: string,
  q: { tag?: string | undefined; q?: string | undefined; archived: 'true' | 'false' | 'all' },
) {
  const project = await requireProject(db, principal, projectKey);
  const archived = q.archived === 'all' ? undefined : q.archived === 'true';
  const flags = await store.listFlags(db, project.id, { tag: q.tag, text: q.q, archived });
  const envs = await environmentsOf(db, project);
  const configs = await store.configsOfFlags(
    db,
    flags.map((f) => f.id),
  );
  return flags.map((f) =>
    withEnvironments(
      f,
      envs,
      configs.filter((c) => c.flagId === f.id),
    ),
  );
}

/** The flag with, per environment, whether it is on and its configuration version. */
export async function getFlag(db: Db, principal: Principal, projectKey: string, flagKey: string) {
  const project = await requireProject(db, principal, projectKey);
  const flag = await requireFlag(db, project, flagKey);
  const envs = await environmentsOf(db, project);
  return withEnvironments(flag, envs, await store.configsOfFlag(db, flag.id));
}

function withEnvironments(flag: store.FlagRow, envs: Environment[], configs: store.ConfigRow[]) {
  const byEnv = new Map(configs.map((c) => [c.environmentId, c]));
  const environments: Record<string, { enabled: boolean; version: number }> = {};
  for (const env of envs) {
    const c = byEnv.get(env.id);
    if (c !== undefined) environments[env.key] = { enabled: c.enabled, version: c.version };
  }
  return { ...flagView(flag), environments };
}

/** A write to one flag: `ifMatch` is the revision the caller last read (`If-Match`), if it sent one. */
export interface FlagTarget {
  projectKey: string;
  flagKey: string;
  ifMatch: number | undefined;
}

export async function updateFlag(w: FlagWriter, actor: Actor, t: FlagTarget, body: UpdateFlagBody) {
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  const { variants, ...rest } = body;
  const patch: Partial<store.FlagRow> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) Object.assign(patch, { [k]: v });
  return flagWrite(w, actor, project, t, 'flag.update', async (tx, flag) => {
    if (variants === undefined) return patch;
    const next = checkVariants(flag.type, variants as Variant[]);
    await refuseRemovingUsedVariants(w, tx, project, flag, next);
    await refuseReorderingPairedVariants(w, tx, flag, next);
    return { ...patch, variants: next };
  });
}

/** Where a variant is in use: in an environment, at a path of the configuration or by another domain. */
export interface VariantUse {
  variant: string;
  environment: string;
  path: string;
  /**
   * A variant whose place in the variant order relative to this one must not change: a release
   * plan's variant and control, whose rollout buckets are laid out in that order.
   */
  orderedWith?: string | undefined;
}

/** Told of a flag whose variants may be removed: the uses other domains hold (a release plan's variant or control). */
export type VariantUseHook = (tx: Tx, flagId: string) => Promise<VariantUse[]>;

/** Refuses a new variant list that drops a variant any environment still serves, targets or names. */
async function refuseRemovingUsedVariants(
  w: FlagWriter,
  tx: Tx,
  project: Project,
  flag: store.FlagRow,
  next: Variant[],
): Promise<void> {
  const kept = new Set(next.map((v) => v.key));
  const removed = new Set(flag.variants.map((v) => v.key).filter((k) => !kept.has(k)));
  if (removed.size === 0) return;
  const envs = await environmentsOf(tx, project);
  // Locked before reading: a write naming the variant commits before this check or waits for it.
  await lockEnvironments(
    tx,
    envs.map((e) => e.id),
  );
  const keyOf = new Map((await store.listFlags(tx, project.id, { archived: undefined })).map((f) => [f.id, f.key]));
  const uses: VariantUse[] = [];
  for (const env of envs) {
    for (const c of await store.configsOfEnvironment(tx, env.id)) {
      if (c.flagId === flag.id) {
        uses.push(...variantsNamedBy(c).map((u) => ({ ...u, environment: env.key })));
        continue;
      }
      c.prerequisites.forEach((p, i) => {
        if (p.flag !== flag.key) return;
        for (const variant of p.variants) {
          const path = `flag ${JSON.stringify(keyOf.get(c.flagId))} prerequisites[${i}]`;
          uses.push({ variant, environment: env.key, path });
        }
      });
    }
  }
  uses.push(...((await w.variantUses?.(tx, flag.id)) ?? []));
  const blocking = uses.filter((u) => removed.has(u.variant));
  const [first] = blocking;
  if (first === undefined) return;
  const where = blocking.map((u) => `${u.environment}: ${u.path}`);
  throw new AppError(
    'INVALID_CONFIG',
    `variant ${JSON.stringify(first.variant)} cannot be removed while it is in use (${where.join('; ')})`,
    { field: 'variants', uses: blocking },
  );
}

/**
 * Refuses a new variant order that swaps a pair another domain holds in order: rollout buckets
 * are laid out in the flag's variant order, so swapping a running plan's variant and control
 * would move every context bucketed between them from one to the other in the middle of the
 * release.
 */
async function refuseReorderingPairedVariants(w: FlagWriter, tx: Tx, flag: store.FlagRow, next: Variant[]) {
  const place = (variants: readonly Variant[], key: string) => variants.findIndex((v) => v.key === key);
  for (const use of (await w.variantUses?.(tx, flag.id)) ?? []) {
    const other = use.orderedWith;
    if (other === undefined) continue;
    const before = place(flag.variants, use.variant) < place(flag.variants, other);
    if (before !== place(next, use.variant) < place(next, other)) {
      throw new AppError(
        'INVALID_CONFIG',
        `variants ${JSON.stringify(use.variant)} and ${JSON.stringify(other)} cannot swap places while they are in use (${use.environment}: ${use.path}): rollout buckets follow the variant order`,
        { field: 'variants', uses: [use] },
      );
    }
  }
}

/** The variants a configuration names, with the path that names each. */
function variantsNamedBy(c: store.ConfigFields): Omit<VariantUse, 'environment'>[] {
  const out: Omit<VariantUse, 'environment'>[] = [];
  const serve = (s: Serve, path: string) => {
    if ('variant' in s) out.push({ variant: s.variant, path });
    else
      s.rollout.weights.forEach((w, i) => {
        out.push({ variant: w.variant, path: `${path}.rollout.weights[${i}]` });
      });
  };
  if (c.offVariant !== null) out.push({ variant: c.offVariant, path: 'offVariant' });
  c.targets.forEach((t, i) => {
    out.push({ variant: t.variant, path: `targets[${i}]` });
  });
  c.rules.forEach((r, i) => {
    serve(r.serve, `rules[${i}].serve`);
  });
  serve(c.defaultServe, 'defaultServe');
  return out;
}

export async function setArchived(w: Writer, actor: Actor, t: FlagTarget, archived: boolean) {
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  return flagWrite(w, actor, project, t, archived ? 'flag.archive' : 'flag.unarchive', async (_tx, flag) =>
    flag.archived === archived ? undefined : { archived },
  );
}

/** Deletes a flag everywhere, unless another flag still names it as a prerequisite. */
export async function deleteFlag(w: Writer, actor: Actor, t: FlagTarget): Promise<void> {
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  await commitChange(w, actor, async (tx) => {
    await lockProjectStructure(tx, project);
    const flag = await lockExisting(tx, project, t.flagKey);
    assertRevision('flag', flag.revision, t.ifMatch);
    const envs = await environmentsOf(tx, project);
    await lockEnvironments(
      tx,
      envs.map((e) => e.id),
    );
    const dependants = await flagsDependingOn(tx, project, flag.key);
    if (dependants.length > 0) {
      throw new AppError('CONFLICT', `flag ${JSON.stringify(flag.key)} is a prerequisite of ${dependants.join(', ')}`, {
        dependants,
      });
    }
    return {
      entries: flagEntries(envs, flag.key),
      apply: async () => {
        await store.deleteFlag(tx, flag.id);
        return { result: undefined, audit: [flagAudit(project, 'flag.delete', flag, null)] };
      },
    };
  });
}

export async function getConfig(db: Db, principal: Principal, projectKey: string, flagKey: string, envKey: string) {
  const project = await requireProject(db, principal, projectKey);
  const flag = await requireFlag(db, project, flagKey);
  const env = await requireEnvironment(db, project, envKey);
  const config = await store.findConfig(db, flag.id, env.id);
  if (config === undefined) throw notFound('configuration of flag', flagKey);
  return configView(flag, env, config);
}

export interface ConfigTarget {
  projectKey: string;
  flagKey: string;
  envKey: string;
  /** The version the caller last read (`If-Match`); a write on anything else is refused. */
  ifMatch: number | undefined;
}

export async function replaceConfig(w: FlagWriter, actor: Actor, t: ConfigTarget, body: ReplaceConfigBody) {
  await refuseCatastrophicPatterns(body.rules);
  return configWrite(w, actor, t, 'flag.config.replace', () => ({
    enabled: body.enabled,
    offVariant: body.offVariant,
    prerequisites: body.prerequisites,
    targets: body.targets,
    rules: withRuleIds(body.rules),
    defaultServe: toServe(body.defaultServe),
    salt: body.salt,
    measured: body.measured,
  }));
}

/** The fields of a PATCH of a configuration, without its reason: what a scheduled change holds too. */
export type ConfigPatch = Omit<PatchConfigBody, 'reason'>;

/** `current` with the fields `patch` gives replaced. */
export function patchedConfig(current: store.ConfigFields, patch: ConfigPatch): store.ConfigFields {
  return {
    enabled: patch.enabled ?? current.enabled,
    offVariant: patch.offVariant === undefined ? current.offVariant : patch.offVariant,
    prerequisites: patch.prerequisites ?? current.prerequisites,
    targets: patch.targets ?? current.targets,
    rules: patch.rules === undefined ? current.rules : withRuleIds(patch.rules),
    defaultServe: patch.defaultServe === undefined ? current.defaultServe : toServe(patch.defaultServe),
    salt: patch.salt === undefined ? current.salt : patch.salt,
    measured: patch.measured ?? current.measured,
  };
}

/**
 * Refuses a patch whose patterns could take catastrophic time to match. Outside the write's
 * transaction: the proof may take up to two seconds, during which no lock should be held.
 */
export async function refusePatchPatterns(patch: ConfigPatch): Promise<void> {
  if (patch.rules !== undefined) await refuseCatastrophicPatterns(patch.rules);
}

export async function patchConfig(w: FlagWriter, actor: Actor, t: ConfigTarget, body: PatchConfigBody) {
  await refusePatchPatterns(body);
  return configWrite(w, actor, t, 'flag.config.update', (current) => patchedConfig(current, body));
}

/** Turns the flag off in one environment. Idempotent: a flag already off is left as it is. */
export async function kill(w: FlagWriter, actor: Actor, t: ConfigTarget) {
  return configWrite(w, actor, t, 'flag.kill', (current) =>
    current.enabled ? { ...current, enabled: false } : undefined,
  );
}

export async function unkill(w: FlagWriter, actor: Actor, t: ConfigTarget) {
  return configWrite(w, actor, t, 'flag.unkill', (current) =>
    current.enabled ? undefined : { ...current, enabled: true },
  );
}

/** Turns off, in one transaction, every flag of the project carrying `tag` that is on in the environment. */
export async function killTag(w: FlagWriter, actor: Actor, projectKey: string, envKey: string, tag: string) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  return commitChange(w, actor, async (tx) => {
    const env = await requireEnvironment(tx, project, envKey);
    const tagged = await store.listFlags(tx, project.id, { tag, archived: undefined });
    const locked: store.FlagRow[] = [];
    for (const f of tagged) {
      const flag = await store.lockFlag(tx, project.id, f.key);
      if (flag?.tags.includes(tag)) locked.push(flag);
    }
    const targets: { flag: store.FlagRow; config: store.ConfigRow }[] = [];
    for (const flag of locked) {
      const config = await store.findConfig(tx, flag.id, env.id);
      if (config?.enabled) targets.push({ flag, config });
    }
    const [first, ...rest] = targets;
    if (first === undefined)
      return noChange({ environment: env.key, tag, killed: [] as string[], version: env.version });
    return {
      entries: targets.map(({ flag }) => ({ environmentId: env.id, kind: 'flag' as const, key: flag.key })),
      apply: async (versions) => {
        const version = versions.get(env.id) as number;
        const killOne = async ({ flag, config }: (typeof targets)[number]): Promise<AuditRecord> => {
          const after = await store.writeConfig(tx, flag.id, env.id, { ...config, enabled: false }, version);
          return configAudit(project, env, 'flag.kill', flag, config, after);
        };
        const audit: [AuditRecord, ...AuditRecord[]] = [await killOne(first)];
        for (const target of rest) audit.push(await killOne(target));
        for (const { flag, config } of targets) {
          const after = { ...config, enabled: false };
          audit.push(
            ...(await tellConfigWrite(w, tx, { project, env, flag, action: 'flag.kill', before: config, after })),
          );
        }
        return { result: { environment: env.key, tag, killed: targets.map((x) => x.flag.key), version }, audit };
      },
    };
  });
}

/**
 * Told, inside its transaction, of every write a person makes to a flag's configuration in one
 * environment, before and after; what it returns is audited with the write. Release plans use it
 * to pause when someone else changes the rollout they drive.
 */
export type ConfigWriteHook = (tx: Tx, write: ConfigWriteEvent) => Promise<AuditRecord[]>;

export interface ConfigWriteEvent {
  projectId: string;
  environmentId: string;
  environmentKey: string;
  flagId: string;
  flagKey: string;
  action: string;
  before: store.ConfigFields;
  after: store.ConfigFields;
}

/** The writer of the flags routes: a {@link Writer} and who is told of configuration writes. */
export interface FlagWriter extends Writer {
  onConfigWrite?: ConfigWriteHook | undefined;
  variantUses?: VariantUseHook | undefined;
}

/** A configuration change checked and ready to write inside the caller's `commitChange`. */
export interface PreparedConfigChange {
  flag: store.FlagRow;
  env: Environment;
  current: store.ConfigRow;
  /** `undefined` when the change leaves the configuration as it is. */
  next: store.ConfigFields | undefined;
  entry: EntryRef;
  /** Writes `next` at the environment's new version; the audit record of the write. */
  write(version: number): Promise<{ stored: store.ConfigRow; audit: AuditRecord }>;
}

/**
 * Locks the flag, reads its configuration in the environment, lets `change` compute the new
 * fields and validates them. For writes of other domains (release plans) that change a flag's
 * configuration as one step of their own change, in the same transaction.
 */
export async function prepareConfigChange(
  tx: Tx,
  project: Project,
  flagKey: string,
  envKey: string,
  action: string,
  change: (current: store.ConfigFields, flag: store.FlagRow) => store.ConfigFields | undefined,
  ifMatch?: number,
): Promise<PreparedConfigChange> {
  const flag = await lockExisting(tx, project, flagKey);
  const env = await requireEnvironment(tx, project, envKey);
  const current = await store.findConfig(tx, flag.id, env.id);
  if (current === undefined) throw notFound('configuration of flag', flagKey);
  if (ifMatch !== undefined && ifMatch !== current.version) {
    throw new AppError('PRECONDITION_FAILED', `the configuration is at version ${current.version}, not ${ifMatch}`, {
      currentVersion: current.version,
      etag: etagOf(current.version),
    });
  }
  const next = change(current, flag);
  if (next !== undefined) {
    if (action !== 'flag.kill' && flag.archived) {
      throw new AppError('CONFLICT', `flag ${JSON.stringify(flag.key)} is archived; unarchive it first`);
    }
    await lockEnvironments(tx, [env.id]);
    await validateConfig(tx, flag, env.id, next);
  }
  return {
    flag,
    env,
    current,
    next,
    entry: { environmentId: env.id, kind: 'flag', key: flag.key },
    async write(version) {
      const stored = await store.writeConfig(tx, flag.id, env.id, next ?? current, version);
      return { stored, audit: configAudit(project, env, action, flag, current, stored) };
    },
  };
}

/** The configuration of a flag in an environment, read inside another domain's transaction. */
export async function readConfig(tx: Tx | Db, project: Project, flagKey: string, envKey: string) {
  const flag = await requireFlag(tx, project, flagKey);
  const env = await requireEnvironment(tx, project, envKey);
  const config = await store.findConfig(tx, flag.id, env.id);
  if (config === undefined) throw notFound('configuration of flag', flagKey);
  return { flag, env, config };
}

/**
 * One write by a person to a flag's configuration in one environment: `If-Match` checked, the
 * new fields computed by `change` (or `undefined` for no change), validated, and stored at the
 * environment's new version; the writer's hook is told.
 */
async function configWrite(
  w: FlagWriter,
  actor: Actor,
  t: ConfigTarget,
  action: string,
  change: (current: store.ConfigFields) => store.ConfigFields | undefined,
) {
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  return commitChange(w, actor, async (tx) => {
    const prepared = await prepareConfigChange(tx, project, t.flagKey, t.envKey, action, change, t.ifMatch);
    const { flag, env, current, next } = prepared;
    if (next === undefined) return noChange({ view: configView(flag, env, current), changed: false });
    return {
      entries: [prepared.entry],
      apply: async (versions) => {
        const { stored, audit } = await prepared.write(versions.get(env.id) as number);
        const told = await tellConfigWrite(w, tx, { project, env, flag, action, before: current, after: next });
        return { result: { view: configView(flag, env, stored), changed: true }, audit: [audit, ...told] };
      },
    };
  });
}

/**
 * Tells the writer's hook of a configuration write made inside `tx`; what it returns goes into
 * the write's audit. For writes of other domains made on a person's behalf (scheduled changes).
 */
export async function tellConfigWrite(
  w: FlagWriter,
  tx: Tx,
  e: {
    project: Project;
    env: Environment;
    flag: store.FlagRow;
    action: string;
    before: store.ConfigFields;
    after: store.ConfigFields;
  },
): Promise<AuditRecord[]> {
  if (w.onConfigWrite === undefined) return [];
  return w.onConfigWrite(tx, {
    projectId: e.project.id,
    environmentId: e.env.id,
    environmentKey: e.env.key,
    flagId: e.flag.id,
    flagKey: e.flag.key,
    action: e.action,
    before: e.before,
    after: e.after,
  });
}

/**
 * A write to the flag itself: `patch` says what changes (`undefined`: nothing), and the flag's
 * entry changes in every environment's ruleset.
 */
async function flagWrite(
  w: Writer,
  actor: Actor,
  project: Project,
  t: FlagTarget,
  action: string,
  patch: (tx: Tx, flag: store.FlagRow) => Promise<Partial<store.FlagRow> | undefined>,
) {
  return commitChange(w, actor, async (tx) => {
    const before = await lockExisting(tx, project, t.flagKey);
    assertRevision('flag', before.revision, t.ifMatch);
    const fields = await patch(tx, before);
    if (fields === undefined) return noChange(before);
    return {
      entries: flagEntries(await environmentsOf(tx, project), before.key),
      apply: async (versions) => {
        const after = await store.updateFlag(tx, before.id, fields);
        await store.touchConfigs(tx, after.id, versions);
        return { result: after, audit: [flagAudit(project, action, before, after)] };
      },
    };
  });
}

function flagEntries(envs: Environment[], key: string): EntryRef[] {
  return envs.map((e) => ({ environmentId: e.id, kind: 'flag', key }));
}

function flagAudit(project: Project, action: string, before: store.FlagRow | null, after: store.FlagRow | null) {
  return {
    projectId: project.id,
    action,
    targetKind: 'flag' as const,
    targetKey: (after ?? before)?.key as string,
    before: before === null ? null : flagView(before),
    after: after === null ? null : flagView(after),
  };
}

function configAudit(
  project: Project,
  env: Environment,
  action: string,
  flag: store.FlagRow,
  before: store.ConfigRow,
  after: store.ConfigRow,
): AuditRecord {
  return {
    projectId: project.id,
    environmentId: env.id,
    action,
    targetKind: 'flag',
    targetKey: flag.key,
    before: configView(flag, env, before),
    after: configView(flag, env, after),
  };
}

async function flagsDependingOn(tx: Tx, project: Project, key: string): Promise<string[]> {
  const envs = await environmentsOf(tx, project);
  const all = await store.listFlags(tx, project.id, { archived: undefined });
  const keyOf = new Map(all.map((f) => [f.id, f.key]));
  const dependants = new Set<string>();
  for (const env of envs) {
    for (const c of await store.configsOfEnvironment(tx, env.id)) {
      if (c.prerequisites.some((p) => p.flag === key)) dependants.add(keyOf.get(c.flagId) as string);
    }
  }
  return [...dependants].sort();
}

export async function flagById(db: Db | Tx, id: string): Promise<store.FlagRow | undefined> {
  return store.findFlagById(db, id);
}

/** Locks the flag's row for the rest of the transaction: whoever writes its configuration locks it first. */
export async function lockFlagForWrite(tx: Tx, project: Project, key: string): Promise<store.FlagRow> {
  return lockExisting(tx, project, key);
}

export async function requireFlag(db: Db | Tx, project: Project, key: string): Promise<store.FlagRow> {
  const flag = await store.findFlag(db, project.id, key);
  if (flag === undefined) throw notFound('flag', key);
  return flag;
}

async function lockExisting(tx: Tx, project: Project, key: string): Promise<store.FlagRow> {
  const flag = await store.lockFlag(tx, project.id, key);
  if (flag === undefined) throw notFound('flag', key);
  return flag;
}
