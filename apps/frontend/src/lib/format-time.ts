const relative_format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute_format = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'short',
});

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

/** "3 minutes ago" for an RFC 3339 timestamp. */
export function formatRelativeTime(timestamp: string, now: Date = new Date()): string {
  const then = new Date(timestamp);
  if (Number.isNaN(then.getTime())) return timestamp;
  let amount = (then.getTime() - now.getTime()) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative_format.format(Math.round(amount), unit);
    amount /= size;
  }
  return absolute_format.format(then);
}

/** A full local date and time, for tooltips and `title`s. */
export function formatAbsoluteTime(timestamp: string): string {
  const then = new Date(timestamp);
  return Number.isNaN(then.getTime()) ? timestamp : absolute_format.format(then);
}
