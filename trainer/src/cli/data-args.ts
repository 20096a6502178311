// Command-line options for reading a hospital CSV, shared by the commands that read one.
import type { CsvDelimiter } from '../data/csv';
import type { LoadTableOptions } from '../data/table';
import type { ArgReader } from './args';
import { UsageError } from './args';

/** Help lines of the options below. */
export const CSV_HELP = `  --delimiter auto|,|;|tab  field separator (default auto: the one that splits the header
                             into the schema's columns)
  --refuse-unlabelled        stop at the first row without a label (default: skip such rows
                             and say how many)`;

/** Names of the value-taking and flag options below. */
export const CSV_OPTIONS = ['delimiter'] as const;
export const CSV_FLAGS = ['refuse-unlabelled'] as const;

/**
 * The CSV reading options from `--delimiter` and `--refuse-unlabelled`.
 * @throws {UsageError} for an unknown delimiter.
 */
export function tableOptionsFrom(args: ArgReader): LoadTableOptions {
  const text = args.string('delimiter') ?? 'auto';
  const named: Record<string, CsvDelimiter | 'auto'> = {
    auto: 'auto',
    ',': ',',
    comma: ',',
    ';': ';',
    semicolon: ';',
    tab: '\t',
    '\t': '\t',
  };
  const delimiter = named[text];
  if (delimiter === undefined) {
    throw new UsageError(`--delimiter must be auto, ",", ";" or tab, not "${text}".`);
  }
  return { delimiter, unlabelled: args.flag('refuse-unlabelled') ? 'refuse' : 'skip' };
}
