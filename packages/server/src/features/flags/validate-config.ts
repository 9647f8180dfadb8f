import { randomBytes } from 'node:crypto';
import { checkFlag, type Rule } from '@switchyard/core';
import type { Tx } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { toRulesetFlag } from '../rulesets/ruleset-entries.js';
import { existingSegmentKeys } from '../segments/service.js';
import { type RuleInput, toClause, toServe } from './schemas.js';
import { type ConfigFields, configsOfEnvironment, type FlagRow, findFlagsByKeys, listFlags } from './store.js';

const invalid = (message: string, field: string) => new AppError('INVALID_CONFIG', message, { field });

/** Gives every rule without an id a fresh one; refuses two rules with the same id. */
export function withRuleIds(rules: RuleInput[]): Rule[] {
  const seen = new Set<string>();
  return rules.map((rule, i) => {
    const id = rule.id ?? `r_${randomBytes(5).toString('hex')}`;
    if (seen.has(id)) throw invalid(`rule id ${JSON.stringify(id)} is used twice`, `rules[${i}].id`);
    seen.add(id);
    const out: Rule = { id, clauses: rule.clauses.map(toClause), serve: toServe(rule.serve) };
    if (rule.description !== undefined) out.description = rule.description;
    return out;
  });
}

/**
 * Checks a configuration's meaning before it is stored: the engine's own checks (variants,
 * weights, regexes, semvers, dates), then what only the server can know: that referenced
 * segments and prerequisite flags exist, and that prerequisites form no cycle.
 */
export async function validateConfig(
  tx: Tx,
  flag: FlagRow,
  environmentId: string,
  fields: ConfigFields,
): Promise<void> {
  const problem = checkFlag(toRulesetFlag(flag, { ...fields, version: 0 }));
  if (problem !== undefined) throw invalid(problem.message, problem.path);

  const segmentRefs: { key: string; path: string }[] = [];
  fields.rules.forEach((rule, i) => {
    rule.clauses.forEach((clause, j) => {
      if (clause.op !== 'inSegment') return;
      clause.values.forEach((v, k) => {
        segmentRefs.push({ key: String(v), path: `rules[${i}].clauses[${j}].values[${k}]` });
      });
    });
  });
  if (segmentRefs.length > 0) {
    const found = await existingSegmentKeys(tx, environmentId, [...new Set(segmentRefs.map((r) => r.key))]);
    const missing = segmentRefs.find((r) => !found.has(r.key));
    if (missing !== undefined) throw invalid(`segment ${JSON.stringify(missing.key)} does not exist`, missing.path);
  }

  if (fields.prerequisites.length === 0) return;
  const keys = fields.prerequisites.map((p) => p.flag);
  const prerequisiteFlags = new Map((await findFlagsByKeys(tx, flag.projectId, keys)).map((f) => [f.key, f]));
  fields.prerequisites.forEach((p, i) => {
    if (p.flag === flag.key) throw invalid('a flag cannot be its own prerequisite', `prerequisites[${i}].flag`);
    const other = prerequisiteFlags.get(p.flag);
    if (other === undefined) throw invalid(`flag ${JSON.stringify(p.flag)} does not exist`, `prerequisites[${i}].flag`);
    p.variants.forEach((v, j) => {
      if (!other.variants.some((variant) => variant.key === v)) {
        throw invalid(
          `flag ${JSON.stringify(p.flag)} has no variant ${JSON.stringify(v)}`,
          `prerequisites[${i}].variants[${j}]`,
        );
      }
    });
  });
  await refuseCycles(tx, flag, environmentId, keys);
}

/** Refuses prerequisites that lead, through other flags' prerequisites, back to `flag`. */
async function refuseCycles(tx: Tx, flag: FlagRow, environmentId: string, direct: string[]): Promise<void> {
  const allFlags = await listFlags(tx, flag.projectId, { archived: undefined });
  const keyOf = new Map(allFlags.map((f) => [f.id, f.key]));
  const edges = new Map<string, string[]>();
  for (const config of await configsOfEnvironment(tx, environmentId)) {
    const key = keyOf.get(config.flagId);
    if (key !== undefined)
      edges.set(
        key,
        config.prerequisites.map((p) => p.flag),
      );
  }
  edges.set(flag.key, direct);
  const path: string[] = [flag.key];
  const done = new Set<string>();
  const visit = (key: string): string[] | undefined => {
    for (const next of edges.get(key) ?? []) {
      if (next === flag.key) return [...path, next];
      if (done.has(next) || path.includes(next)) continue;
      path.push(next);
      const cycle = visit(next);
      path.pop();
      if (cycle !== undefined) return cycle;
      done.add(next);
    }
    return undefined;
  };
  const cycle = visit(flag.key);
  if (cycle !== undefined) throw invalid(`prerequisites would form a cycle: ${cycle.join(' -> ')}`, 'prerequisites');
}
