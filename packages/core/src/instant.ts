// Dates: an ISO-8601 calendar date (UTC) or a date-time with an explicit offset. A local
// date-time without an offset would mean a different instant in every SDK's time zone. Hours,
// minutes and seconds are bounded here; month and day by the calendar, below.
const ISO_DATE =
  /^(\d{4})-(\d\d)-(\d\d)(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?(?:Z|([+-])([01]\d|2[0-3]):([0-5]\d)))?$/;

/** Epoch milliseconds of a date clause or attribute value, or `undefined` when it is not a date. */
export function toInstant(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.length > 40) return undefined;
  const m = ISO_DATE.exec(v);
  if (m === null) return undefined;
  // Parsed by hand rather than by Date.parse, which engines answer differently outside the
  // strict ECMAScript format (2025-02-30, 24:00, more or fewer than three fraction digits).
  // setUTCFullYear, unlike Date.UTC, takes years 0-99 as they are. A month or day out of range
  // rolls the date over into another month or day, which is how it is caught.
  const [
    ,
    year,
    month,
    day,
    hour = 0,
    minute = 0,
    second = 0,
    fraction = '',
    sign,
    offsetHours = 0,
    offsetMinutes = 0,
  ] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  // A time east of UTC (+hh:mm) is that much earlier in UTC. The offset is taken off the hours
  // and minutes, which setUTCHours carries over into the day as it does a month or day.
  const east = sign === '-' ? -1 : 1;
  return date.setUTCHours(
    Number(hour) - east * Number(offsetHours),
    Number(minute) - east * Number(offsetMinutes),
    Number(second),
    Number(`${fraction}00`.slice(0, 3)),
  );
}
