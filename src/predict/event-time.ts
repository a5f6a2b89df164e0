import { InputError, quote } from '../errors.js';

export interface EventTimePolicy {
  readonly accept: boolean;
  /** Oldest accepted event time, ms before now. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

/** How far ahead of the server clock an event time may be (clock skew). */
const MAX_EVENT_LEAD_MS = 5 * 60_000;

/**
 * The `event_time` of a predict body (ISO 8601 or epoch ms), checked against the policy:
 * refused unless the service accepts event times, and bounded to [now − max age, now + 5 min].
 */
export function readEventTime(raw: unknown, policy: EventTimePolicy | undefined): number {
  if (policy === undefined || !policy.accept) {
    throw new InputError('event_time_not_accepted', 'event_time', 'this service does not accept "event_time" (start it with VIGIA_ACCEPT_EVENT_TIME=true to replay or backfill)');
  }
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InputError('invalid_event_time', 'event_time', `event_time must be an ISO 8601 time or epoch milliseconds, got ${quote(raw)}`);
  const now = (policy.now ?? Date.now)();
  if (ms > now + MAX_EVENT_LEAD_MS) throw new InputError('invalid_event_time', 'event_time', `event_time ${quote(raw)} is more than 5 minutes in the future`);
  if (ms < now - policy.maxAgeMs) {
    throw new InputError('invalid_event_time', 'event_time', `event_time ${quote(raw)} is older than ${Math.round(policy.maxAgeMs / 86_400_000)} days (VIGIA_MAX_EVENT_AGE)`);
  }
  return Math.round(ms);
}
