// The shape of a CLI sub-command.
import type { ArgReader, OptionSpec } from './args';

/** One `fedledger-trainer <name>` sub-command. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The command's full help text (options and an example). */
  help: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** Does the work; throws typed errors that main maps to exit codes. */
  run(args: ArgReader): Promise<void>;
}

/**
 * Builds an option table from value-taking names, flag names and the value-taking names that may
 * repeat (`help` is always a flag).
 */
export function optionTable(
  strings: readonly string[],
  flags: readonly string[] = [],
  repeatable: readonly string[] = [],
): Record<string, OptionSpec> {
  const table: Record<string, OptionSpec> = { help: { kind: 'flag' } };
  for (const name of strings)
    table[name] = { kind: 'string', repeatable: repeatable.includes(name) };
  for (const name of flags) table[name] = { kind: 'flag' };
  return table;
}
