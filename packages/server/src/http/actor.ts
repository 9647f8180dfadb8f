import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { Actor } from '../features/changes/commit-change.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin on every route it guards. */
    principal?: Principal;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new AppError('UNAUTHORIZED', 'an API key is required');
  return request.principal;
}

/** The caller and the reason for a write: `X-Change-Reason`, or a `reason` field in the body. */
export function actorOf(request: FastifyRequest, bodyReason?: string): Actor {
  const header = request.headers['x-change-reason'];
  const fromHeader = typeof header === 'string' && header.trim() !== '' ? header.trim().slice(0, 1000) : undefined;
  return { principal: principalOf(request), reason: bodyReason ?? fromHeader };
}

/** The version an `If-Match` header names, e.g. `"12"` or `12`; `undefined` when absent. */
export function ifMatchVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(String(header));
  if (m === null) {
    throw new AppError('VALIDATION_FAILED', 'If-Match must be a version such as "12"', { field: 'If-Match' });
  }
  return Number(m[1]);
}
