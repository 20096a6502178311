// A small RFC 4180 CSV reader and writer: comma-separated (or `;` or tab), optional double-quoted
// fields with "" escapes and embedded newlines, LF or CRLF line ends. Fast path for unquoted lines.
import { DataError } from '../errors';

/** Field separators a hospital extract may use. */
export type CsvDelimiter = ',' | ';' | '\t';

export const CSV_DELIMITERS: readonly CsvDelimiter[] = [',', ';', '\t'];

/** How a delimiter is written in messages and on the command line. */
export function delimiterName(d: CsvDelimiter): string {
  return d === '\t' ? 'tab' : `"${d}"`;
}

/** The file's first line (the header), without a byte-order mark or line end. */
export function firstLine(text: string): string {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const end = text.indexOf('\n', start);
  const line = text.slice(start, end === -1 ? text.length : end);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * The delimiter of a header line: the one that splits it into the most of `expected` column names,
 * then the most fields; `,` when none splits it.
 */
export function detectDelimiter(header: string, expected: readonly string[] = []): CsvDelimiter {
  const names = new Set(expected);
  let best: CsvDelimiter = ',';
  let bestScore = [-1, -1];
  for (const d of CSV_DELIMITERS) {
    const fields = header.split(d).map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
    const score = [fields.filter((f) => names.has(f)).length, fields.length];
    if (
      (score[0] as number) > (bestScore[0] as number) ||
      (score[0] === bestScore[0] && (score[1] as number) > (bestScore[1] as number))
    ) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

/** Receives each record with the 1-based line number on which it starts. */
export type CsvRecordHandler = (fields: string[], line: number) => void;

/**
 * Calls `onRecord` for each record of `text` (the header included). Blank lines are skipped.
 * @throws {DataError} `DATA_MALFORMED_CSV` for an unterminated quote or stray text after a quote.
 */
export function forEachCsvRecord(
  text: string,
  file: string,
  onRecord: CsvRecordHandler,
  delimiter: CsvDelimiter = ',',
): void {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // skip a UTF-8 byte-order mark
  let line = 1;
  const length = text.length;
  while (pos < length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = length;
    const lineEnd = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const raw = text.slice(pos, lineEnd);
    if (raw.indexOf('"') === -1) {
      if (raw.length > 0) onRecord(raw.split(delimiter), line);
      pos = end + 1;
      line++;
      continue;
    }
    const startLine = line;
    const result = parseQuotedRecord(text, pos, file, startLine, delimiter);
    onRecord(result.fields, startLine);
    line += result.newlines + 1;
    pos = result.next;
  }
}

interface QuotedRecord {
  fields: string[];
  next: number;
  newlines: number;
}

function parseQuotedRecord(
  text: string,
  start: number,
  file: string,
  line: number,
  delimiter: CsvDelimiter,
): QuotedRecord {
  const fields: string[] = [];
  let field = '';
  let pos = start;
  let newlines = 0;
  for (;;) {
    if (text[pos] === '"') {
      pos++;
      for (;;) {
        const quote = text.indexOf('"', pos);
        if (quote === -1) {
          throw new DataError(
            'DATA_MALFORMED_CSV',
            { file, row: line },
            'a quoted field is never closed.',
          );
        }
        const chunk = text.slice(pos, quote);
        newlines += countNewlines(chunk);
        field += chunk;
        if (text[quote + 1] === '"') {
          field += '"';
          pos = quote + 2;
        } else {
          pos = quote + 1;
          break;
        }
      }
      const c = text[pos];
      if (c !== delimiter && c !== '\n' && c !== '\r' && c !== undefined) {
        throw new DataError(
          'DATA_MALFORMED_CSV',
          { file, row: line + newlines },
          'text follows a closing quote.',
        );
      }
    } else {
      let stop = pos;
      while (
        stop < text.length &&
        text[stop] !== delimiter &&
        text[stop] !== '\n' &&
        text[stop] !== '\r'
      )
        stop++;
      field = text.slice(pos, stop);
      pos = stop;
    }
    fields.push(field);
    field = '';
    if (text[pos] === delimiter) {
      pos++;
      continue;
    }
    if (text[pos] === '\r') pos++;
    if (text[pos] === '\n') pos++;
    return { fields, next: pos, newlines };
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Quotes a field when it needs it (comma, quote, newline, surrounding space). */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line (with the trailing LF) from already-formatted values. */
export function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
