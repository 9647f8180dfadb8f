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
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours, offsetMinutes] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  const local = date.setUTCHours(
    Number(hour ?? 0),
    Number(minute ?? 0),
    Number(second ?? 0),
    Number(`${fraction}00`.slice(0, 3)),
  );
  const offset = (Number(offsetHours ?? 0) * 60 + Number(offsetMinutes ?? 0)) * 60_000;
  return sign === '-' ? local + offset : local - offset;
}
