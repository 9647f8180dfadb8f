/**
 * The shapes the management API answers, as far as the console reads them. The parts of a flag's
 * configuration are the ruleset's own, from the core; what is here is what only the API adds.
 */

import type {
  Rule as CoreRule,
  FlagType,
  Operator,
  Prerequisite,
  SegmentRule,
  Serve,
  Target,
  Variant,
} from '@switchyard/core';

export type {
  Clause,
  ClauseValue,
  FlagType,
  JsonValue,
  Operator,
  Serve,
  Variant,
} from '@switchyard/core';

export type Role = 'viewer' | 'editor' | 'admin';

export interface User {
  id: string;
  email: string;
  owner?: boolean;
  /** When the owner disabled the person; `null` while they may sign in. */
  disabledAt?: string | null;
  /** Someone else set the password: the person chooses their own before anything else. */
  mustChangePassword?: boolean;
  createdAt?: string;
}

/** A person's API token for scripts and the CLI; the secret itself is shown only when made. */
export interface PersonalToken {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface Me {
  id: string;
  name: string;
  via: string;
  user: (User & { owner?: boolean }) | null;
  projects: { key: string; name: string; role: Role | null }[];
  csrfToken: string | null;
}

export interface Project {
  key: string;
  name: string;
  revision: number;
}

export interface Environment {
  key: string;
  name: string;
  version: number;
  revision: number;
}

export interface Flag {
  key: string;
  name: string;
  description: string;
  tags: string[];
  type: FlagType;
  variants: Variant[];
  clientSide: boolean;
  archived: boolean;
  revision: number;
  updatedAt: string;
  /** Per environment, whether it is on (in the list and on `GET …/flags/:flag`). */
  environments?: Record<string, { enabled: boolean; version: number }>;
}

/**
 * Every operator the clause builder offers, the core's `OPERATORS` in its order. A list of the
 * console's own, so that the console imports nothing but types from the core and builds without it.
 */
export const OPERATORS = [
  'in',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'before',
  'after',
  'semverEq',
  'semverLt',
  'semverGt',
  'inSegment',
] as const satisfies readonly Operator[];

/** As drafted in a form: a rule the person added has no id until the API gives it one. */
type Unsaved<R extends { id: string }> = Omit<R, 'id'> & { id?: string };

export type Rule = Unsaved<CoreRule>;

export interface Config {
  flag: string;
  environment: string;
  enabled: boolean;
  offVariant: string | null;
  prerequisites: Prerequisite[];
  targets: Target[];
  rules: Rule[];
  defaultServe: Serve;
  salt: string | null;
  measured: boolean;
  version: number;
  /** When the configuration itself last changed (a write of the flag moves `version` only). */
  updatedAt: string;
}

export interface AuditEntry {
  id: number | string;
  actor: string;
  actorId: string;
  action: string;
  targetKind: string;
  targetKey: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface Segment {
  key: string;
  environment: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  rules: Unsaved<SegmentRule>[];
  version: number;
}
