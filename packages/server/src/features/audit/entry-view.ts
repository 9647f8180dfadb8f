import type { AuditEntry } from './store.js';

/**
 * One audit entry as the API shows it: in `GET /api/v1/audit`'s pages and, the same, in each
 * `change` event of the management change stream.
 */
export function auditEntryView(e: AuditEntry) {
  return {
    id: e.id,
    actor: e.actor,
    actorId: e.actorId,
    action: e.action,
    targetKind: e.targetKind,
    targetKey: e.targetKey,
    before: e.before,
    after: e.after,
    reason: e.reason,
    createdAt: e.createdAt.toISOString(),
  };
}
