// A small RFC 4180 CSV reader and writer: comma-separated, optional double-quoted fields with ""
// escapes and embedded newlines, LF or CRLF line ends. Fast path for unquoted lines.
import { DataError } from '../errors';

/** Receives each record with the 1-based line number on which it starts. */
export type CsvRecordHandler = (fields: string[], line: number) => void;

/**
 * Calls `onRecord` for each record of `text` (the header included). Blank lines are skipped.
 * @throws {DataError} `DATA_MALFORMED_CSV` for an unterminated quote or stray text after a quote.
 */
export function forEachCsvRecord(text: string, file: string, onRecord: CsvRecordHandler): void {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // skip a UTF-8 byte-order mark
  let line = 1;
  const length = text.length;
  while (pos < length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = length;
    const lineEnd = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const raw = text.slice(pos, lineEnd);
    if (raw.indexOf('"') === -1) {
      if (raw.length > 0) onRecord(raw.split(','), line);
      pos = end + 1;
      line++;
      continue;
    }
    const startLine = line;
    const result = parseQuotedRecord(text, pos, file, startLine);
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

function parseQuotedRecord(text: string, start: number, file: string, line: number): QuotedRecord {
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
      if (c !== ',' && c !== '\n' && c !== '\r' && c !== undefined) {
        throw new DataError(
          'DATA_MALFORMED_CSV',
          { file, row: line + newlines },
          'text follows a closing quote.',
        );
      }
    } else {
      let stop = pos;
      while (stop < text.length && text[stop] !== ',' && text[stop] !== '\n' && text[stop] !== '\r')
        stop++;
      field = text.slice(pos, stop);
      pos = stop;
    }
    fields.push(field);
    field = '';
    if (text[pos] === ',') {
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
