#!/usr/bin/env node
// `fedledger-trainer`: the hospital trainer's command line. Exit codes are listed in EXIT (common.ts).
import { TrainerError } from '../errors';
import { argReader, parseArgs, UsageError } from './args';
import { baselineCommand } from './baseline-command';
import { checkCommand } from './check-command';
import type { Command } from './command';
import { EXIT, exitCodeFor } from './common';
import { evaluateCommand } from './evaluate-command';
import { exportCommand } from './export-command';
import { exportUpdatesCommand } from './export-updates-command';
import { generateCommand } from './generate-command';
import { initCommand } from './init-command';
import { keysCommands } from './keys-command';
import { preprocessCombineCommand, preprocessStatsCommand } from './preprocess-command';
import { runCommand } from './run-command';
import { trainCommand } from './train-command';

const COMMANDS: readonly Command[] = [
  generateCommand,
  initCommand,
  trainCommand,
  baselineCommand,
  evaluateCommand,
  preprocessStatsCommand,
  preprocessCombineCommand,
  runCommand,
  checkCommand,
  exportCommand,
  exportUpdatesCommand,
  ...keysCommands,
];

/** The top-level help text. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: fedledger-trainer <command> [options]   (fedledger-trainer <command> --help for details)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Exit codes:
  ${EXIT.OK} ok · ${EXIT.USAGE} bad command line (unknown option, value missing or out of range)
  ${EXIT.DATA} bad data (file, row and column named) · ${EXIT.MODEL} bad model file or spec, or not a model/update container
  ${EXIT.PRIVACY} privacy settings cannot be met · ${EXIT.BACKEND} backend unavailable · ${EXIT.KEY} key file or passphrase refused
  ${EXIT.GATEWAY} gateway refused or unreachable, identity unusable · ${EXIT.INTEGRITY} bytes contradict the ledger
  ${EXIT.STOPPED} stopped by Ctrl-C · ${EXIT.INTERNAL} internal error, or (check) an update of this hospital was excluded`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...others] = argv;
  if (first === undefined) {
    // No command is a usage error: the help goes to stderr, with its exit code.
    console.error(usage());
    return EXIT.USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(usage());
    return EXIT.OK;
  }
  // Two-word commands (`keys init`) take precedence over one-word ones.
  const pair = COMMANDS.find((c) => c.name === `${first} ${others[0]}`);
  const name = pair ? pair.name : first;
  const rest = pair ? others.slice(1) : others;
  const command = pair ?? COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`Unknown command "${name}".`);
    const parsed = parseArgs(rest, command.options);
    if (parsed.flags.has('help')) {
      console.log(command.help);
      return EXIT.OK;
    }
    if (parsed.positionals.length > 0)
      throw new UsageError(`Unexpected argument "${parsed.positionals[0]}".`);
    await command.run(argReader(parsed));
    return EXIT.OK;
  } catch (error) {
    const code = exitCodeFor(error);
    if (code === EXIT.INTERNAL && !(error instanceof TrainerError)) console.error(error);
    else console.error(`error: ${(error as Error).message}`);
    if (code === EXIT.USAGE) console.error(command ? `\n${command.help}` : `\n${usage()}`);
    return code;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
