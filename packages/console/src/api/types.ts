/** The shapes the management API answers, as far as the console reads them. */

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

export type FlagType = 'boolean' | 'string' | 'number' | 'json';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Variant {
  key: string;
  value: JsonValue;
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

/** Every operator the API accepts in a clause (the core's `OPERATORS`). */
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
] as const;
export type Operator = (typeof OPERATORS)[number];

export type ClauseValue = string | number | boolean;

export interface Clause {
  attribute: string;
  op: Operator;
  values: ClauseValue[];
  negate?: boolean;
}

export interface WeightedVariant {
  variant: string;
  weight: number;
}

export type Serve = { variant: string } | { rollout: { bucketBy?: string; weights: WeightedVariant[] } };

export interface Rule {
  id?: string;
  description?: string;
  clauses: Clause[];
  serve: Serve;
}

export interface Config {
  flag: string;
  environment: string;
  enabled: boolean;
  offVariant: string | null;
  prerequisites: { flag: string; variants: string[] }[];
  targets: { variant: string; values: string[] }[];
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
  rules: { id?: string; clauses: Clause[] }[];
  version: number;
}
