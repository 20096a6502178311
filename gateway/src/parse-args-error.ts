// Node's parseArgs errors in the words of the command lines (fedledger-audit, fedledger-gateway,
// the demo): which option is wrong and how, without Node's advice about positionals.

/**
 * A short sentence for an error thrown by `util.parseArgs`, e.g. `unknown option --colour`;
 * undefined for any other error.
 */
export function describeParseArgsError(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const message = (err as Error).message;
  // Node quotes the option as '--name', '--name <value>' or '-n, --name'.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = /--[^\s,<]+/.exec(quoted)?.[0] ?? quoted;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('argument missing')) return `${option} needs a value`;
      if (message.includes('does not take an argument')) return `${option} takes no value`;
      if (message.includes('ambiguous'))
        return `${option} needs a value; write ${option}=VALUE for one that starts with "-"`;
      return `${option}: ${message}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted}`;
    default:
      return message;
  }
}
