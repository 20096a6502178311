// Dates in hospital extracts: parsed in the schema's format and turned into a number, the days
// since a reference day, so a date column is one standardised feature instead of one one-hot
// column per distinct date.
import type { DateFormat } from './schema';

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a calendar date; undefined for a date that does not exist. */
export function civilDay(year: number, month: number, day: number): number | undefined {
  if (!Number.isInteger(year) || year < 1 || year > 9999) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    return undefined;
  }
  return ms / MS_PER_DAY;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date; undefined when it is not one. */
export function isoDay(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  return m ? civilDay(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

const PATTERNS: Record<DateFormat, { re: RegExp; y: number; m: number; d: number }> = {
  'YYYY-MM-DD': { re: /^(\d{4})-(\d{1,2})-(\d{1,2})/, y: 1, m: 2, d: 3 },
  'DD/MM/YYYY': { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})/, y: 3, m: 2, d: 1 },
  'MM/DD/YYYY': { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})/, y: 3, m: 1, d: 2 },
  'DD.MM.YYYY': { re: /^(\d{1,2})\.(\d{1,2})\.(\d{4})/, y: 3, m: 2, d: 1 },
};

/** An optional time of day after the date: `T10:30`, ` 10:30:15`, `T10:30:15Z`. */
const TIME = /^(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?Z?)?$/;

/**
 * Days since `referenceDay` (days since 1970-01-01) of `text` written in `format`, a time of day
 * counting as a fraction; undefined when `text` is not such a date.
 */
export function daysSince(
  text: string,
  format: DateFormat,
  referenceDay: number,
): number | undefined {
  const p = PATTERNS[format];
  const m = p.re.exec(text);
  if (!m) return undefined;
  const day = civilDay(Number(m[p.y]), Number(m[p.m]), Number(m[p.d]));
  if (day === undefined) return undefined;
  const t = TIME.exec(text.slice(m[0].length));
  if (!t) return undefined;
  const hours = Number(t[1] ?? 0);
  const minutes = Number(t[2] ?? 0);
  const seconds = Number(t[3] ?? 0);
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  return day - referenceDay + (hours * 3600 + minutes * 60 + seconds) / 86_400;
}
