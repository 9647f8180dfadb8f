import type { ClauseValue, Operator } from '../api/types.js';

/** Operators whose values are numbers: what a person types there is sent as a number. */
const NUMERIC: ReadonlySet<Operator> = new Set(['lt', 'lte', 'gt', 'gte']);
/** Dates may be ISO strings or epoch milliseconds. */
const DATES: ReadonlySet<Operator> = new Set(['before', 'after']);

/** A clause's values as typed, comma-separated, into what the API takes for the operator. */
export function parseValues(op: Operator, text: string): ClauseValue[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (NUMERIC.has(op)) return parts.map((p) => (Number.isFinite(Number(p)) ? Number(p) : p));
  if (DATES.has(op)) return parts.map((p) => (/^-?\d+$/.test(p) ? Number(p) : p));
  return parts;
}

export function formatValues(values: ClauseValue[]): string {
  return values.map(String).join(', ');
}

/** A list typed one per line or comma-separated (target keys, variant keys). */
export function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** Rollout weights are thousandths of a percent: 100 000 is everyone. */
export const WHOLE = 100_000;

export const percentOf = (weight: number): string => (weight / 1000).toFixed(3).replace(/\.?0+$/, '');
