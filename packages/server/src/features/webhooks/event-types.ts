/**
 * The events a webhook subscribes to. Each is a family of audit actions: a webhook hears of an
 * audited change when the change's action maps to one of its events, and the payload names the
 * action itself, so a receiver can tell a rollout from a rename without more event types.
 */
export const WEBHOOK_EVENT_TYPES = [
  'flag.changed',
  'flag.killed',
  'flag.unkilled',
  'segment.changed',
  'plan.changed',
  'schedule.changed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Audit actions mapped one by one: adding an event means adding its actions here. */
const BY_ACTION: Readonly<Record<string, WebhookEventType>> = {
  'flag.create': 'flag.changed',
  'flag.update': 'flag.changed',
  'flag.archive': 'flag.changed',
  'flag.unarchive': 'flag.changed',
  'flag.delete': 'flag.changed',
  'flag.config.replace': 'flag.changed',
  'flag.config.update': 'flag.changed',
  'flag.kill': 'flag.killed',
  'flag.unkill': 'flag.unkilled',
  'segment.create': 'segment.changed',
  'segment.replace': 'segment.changed',
  'segment.delete': 'segment.changed',
};

/**
 * Domains whose every action is one event: release plans and scheduled changes record theirs
 * as `release-plan.*` and `schedule.*`, so a new step of theirs reaches webhooks without an edit here.
 */
const BY_PREFIX: readonly (readonly [string, WebhookEventType])[] = [
  ['release-plan.', 'plan.changed'],
  ['schedule.', 'schedule.changed'],
];

/** The webhook event an audit action is, if any. */
export function eventTypeOf(action: string): WebhookEventType | undefined {
  if (Object.hasOwn(BY_ACTION, action)) return BY_ACTION[action];
  return BY_PREFIX.find(([prefix]) => action.startsWith(prefix))?.[1];
}
