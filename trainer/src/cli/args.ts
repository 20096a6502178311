// A small argv parser for the trainer CLI: `--name value`, `--name=value`, repeatable options and
// boolean flags, with errors that say which option is wrong.
import { TrainerError } from '../errors';

/** A command-line mistake; the CLI prints it with the usage and exits with code 2. */
export class UsageError extends TrainerError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

/** How one option is read. */
export interface OptionSpec {
  /** `string` takes a value; `flag` takes none. */
  kind: 'string' | 'flag';
  /** May be given more than once (values collected in order). */
  repeatable?: boolean;
}

/** Parsed options: strings (last wins unless repeatable), string lists, and flags. */
export interface ParsedArgs {
  values: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
}

/**
 * Parses `argv` against `options`.
 * @throws {UsageError} for an unknown option, a missing value, or a repeated single option.
 */
export function parseArgs(
  argv: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): ParsedArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = options[name];
    if (!spec) throw new UsageError(`Unknown option --${name}.`);
    if (spec.kind === 'flag') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value.`);
      flags.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || (eq === -1 && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value.`);
    const list = values.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable)
      throw new UsageError(`--${name} is given more than once.`);
    list.push(value);
    values.set(name, list);
  }
  return { values, flags, positionals };
}

/** Typed access to parsed options. */
export interface ArgReader {
  string(name: string): string | undefined;
  required(name: string): string;
  list(name: string): string[];
  number(name: string, fallback?: number): number | undefined;
  integer(name: string, fallback?: number): number | undefined;
  /** An integer of at least `min` (default 1), or `fallback` when absent. */
  countAtLeast(name: string, min?: number, fallback?: number): number | undefined;
  /** A number inside `range` (`(0, ∞)` by default), or `fallback` when absent. */
  numberIn(name: string, range?: NumberRange, fallback?: number): number | undefined;
  flag(name: string): boolean;
}

/** A range of allowed values; each bound is open unless marked inclusive. */
export interface NumberRange {
  above?: number;
  atLeast?: number;
  below?: number;
}

function describeRange(r: Readonly<NumberRange>): string {
  const parts: string[] = [];
  if (r.atLeast !== undefined) parts.push(`≥ ${r.atLeast}`);
  if (r.above !== undefined) parts.push(`> ${r.above}`);
  if (r.below !== undefined) parts.push(`< ${r.below}`);
  return parts.join(' and ');
}

/** Wraps {@link ParsedArgs} with typed, validating getters. */
export function argReader(parsed: ParsedArgs): ArgReader {
  const string = (name: string): string | undefined => parsed.values.get(name)?.at(-1);
  const number = (name: string, fallback?: number): number | undefined => {
    const text = string(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value))
      throw new UsageError(`--${name} must be a number, not "${text}".`);
    return value;
  };
  return {
    string,
    required(name) {
      const value = string(name);
      if (value === undefined) throw new UsageError(`--${name} is required.`);
      return value;
    },
    list: (name) => parsed.values.get(name) ?? [],
    number,
    integer(name, fallback) {
      const value = number(name, fallback);
      if (value !== undefined && !Number.isSafeInteger(value))
        throw new UsageError(`--${name} must be an integer.`);
      return value;
    },
    countAtLeast(name, min = 1, fallback) {
      const value = number(name, fallback);
      if (value !== undefined && (!Number.isSafeInteger(value) || value < min))
        throw new UsageError(`--${name} must be an integer ≥ ${min}, not "${string(name)}".`);
      return value;
    },
    numberIn(name, range = { above: 0 }, fallback) {
      const value = number(name, fallback);
      if (value === undefined) return value;
      const inside =
        (range.above === undefined || value > range.above) &&
        (range.atLeast === undefined || value >= range.atLeast) &&
        (range.below === undefined || value < range.below);
      if (!inside)
        throw new UsageError(`--${name} must be ${describeRange(range)}, not "${string(name)}".`);
      return value;
    },
    flag: (name) => parsed.flags.has(name),
  };
}
