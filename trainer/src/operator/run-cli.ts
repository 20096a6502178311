#!/usr/bin/env node
// `fedledger-run`: the consortium operator's command for training runs: create a run from a run
// file, list runs, show a run's status, close its open round by hand. It speaks to the gateway
// over mutual TLS as the coordinator identity (connection.json, or the dev PKI's identities.json).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunStatus } from '@fedledger/protocol';
import { GatewayClientError, IdentityFileError } from '../client/errors';
import type { GatewayTransport } from '../client/https-transport';
import { newHttpsTransport } from '../client/https-transport';
import { loadHospitalIdentity } from '../client/identity';
import type { ArgReader } from '../cli/args';
import { UsageError, argReader, parseArgs } from '../cli/args';
import { optionTable } from '../cli/command';
import { EXAMPLE_RUN_FILE, RunFileError, loadRunFile } from './run-file';
import type { RoundClosedView, RunListView } from './run-operations';
import { closedLines, createRun, listLines, statusLines } from './run-operations';

/** Exit codes of `fedledger-run`. */
export const RUN_EXIT = {
  OK: 0,
  /** An unexpected failure. */
  INTERNAL: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The run file cannot be used (the message names the field). */
  RUN_FILE: 3,
  /** The gateway refused (its problem code is printed) or cannot be reached, or the identity is unusable. */
  GATEWAY: 8,
} as const;

const CONNECTION_HELP = `Connection (by default from the gateway's own gateway.json):
  --gateway-info FILE   the gateway.json that fedledger-gateway serve writes
                        (default .fedledger/gateway/gateway.json): URL, CA and identities file
  --gateway URL         the gateway, e.g. https://127.0.0.1:8443
  --gateway-ca FILE     the CA of the gateway's server certificate (PEM)
  --identities FILE     connection.json (Fabric) or identities.json (simulated ledger's dev PKI)
  --identity NAME       the coordinator identity in it (default coordinator)`;

export const RUN_USAGE = `Usage: fedledger-run <command> [options]

Commands:
  create RUNFILE [--dry-run]   create a run from a run file (YAML or JSON) and open round 0
  list                         the runs on the ledger
  status RUN                   a run: settings, participants and every round so far
  close RUN                    close the open round now with the updates recorded (quorum
                               permitting) and open the next one

Options:
  --json                print the gateway's reply as JSON
${CONNECTION_HELP}

A run file (paths are relative to it):

${EXAMPLE_RUN_FILE.trimEnd()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}

Exit codes: 0 ok · 2 bad command line · 3 run file unusable (the field is named) · 8 gateway
refused (its problem code is printed, e.g. FL_ERR_FORBIDDEN for a non-coordinator) or
unreachable, or identity unusable · 1 internal error`;

const OPTIONS = optionTable(
  ['gateway-info', 'gateway', 'gateway-ca', 'identities', 'identity'],
  ['json', 'dry-run'],
);

interface GatewayInfo {
  url?: unknown;
  caCertPath?: unknown;
  identities?: unknown;
}

/** A transport to the gateway as the coordinator, from the options or gateway.json. */
function connect(args: ArgReader): GatewayTransport {
  const infoFile = resolve(
    args.string('gateway-info') ?? join('.fedledger', 'gateway', 'gateway.json'),
  );
  let info: GatewayInfo = {};
  const needInfo =
    args.string('gateway') === undefined ||
    args.string('gateway-ca') === undefined ||
    args.string('identities') === undefined;
  if (needInfo) {
    try {
      info = JSON.parse(readFileSync(infoFile, 'utf8')) as GatewayInfo;
    } catch (err) {
      throw new UsageError(
        `cannot read ${infoFile} (${(err as Error).message}); start the gateway (fedledger-gateway serve), or give --gateway, --gateway-ca and --identities.`,
      );
    }
  }
  const pick = (option: string, fromInfo: unknown): string => {
    const value = args.string(option) ?? (typeof fromInfo === 'string' ? fromInfo : undefined);
    if (value === undefined)
      throw new UsageError(`--${option} is required (${infoFile} does not name it).`);
    return value;
  };
  const url = pick('gateway', info.url);
  if (!/^https:\/\//.test(url))
    throw new UsageError(`--gateway must be an https:// URL, not "${url}".`);
  const caFile = pick('gateway-ca', info.caCertPath);
  const identity = loadHospitalIdentity(
    pick('identities', info.identities),
    args.string('identity') ?? 'coordinator',
  );
  let caCertPem: Buffer;
  try {
    caCertPem = readFileSync(caFile);
  } catch (err) {
    throw new IdentityFileError(`cannot read the gateway CA certificate ${caFile}.`, {
      cause: err,
    });
  }
  return newHttpsTransport({ url, caCertPem, certPem: identity.certPem, keyPem: identity.keyPem });
}

async function getJson<T>(
  transport: GatewayTransport,
  path: string,
  method: 'GET' | 'POST' = 'GET',
): Promise<T> {
  const reply = await transport.send({ method, path });
  return JSON.parse(Buffer.from(reply.body).toString('utf8')) as T;
}

/** Injectable parts (tests). */
export interface RunCliDeps {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Replaces the connection from the options (tests against an in-process gateway). */
  transport?: GatewayTransport;
}

const processIo: RunCliDeps = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs one `fedledger-run` command line and returns its exit code; never throws. */
export async function main(argv: readonly string[], deps: RunCliDeps = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? deps.err : deps.out)(`${RUN_USAGE}\n`);
    return command === undefined ? RUN_EXIT.USAGE : RUN_EXIT.OK;
  }
  let transport: GatewayTransport | undefined;
  try {
    if (!['create', 'list', 'status', 'close'].includes(command)) {
      throw new UsageError(
        `unknown command "${command}"; the commands are create, list, status and close.`,
      );
    }
    const parsed = parseArgs(rest, OPTIONS);
    const args = argReader(parsed);
    if (args.flag('help')) {
      deps.out(`${RUN_USAGE}\n`);
      return RUN_EXIT.OK;
    }
    const wanted = command === 'list' ? 0 : 1;
    if (parsed.positionals.length !== wanted) {
      throw new UsageError(
        command === 'list'
          ? 'list takes no arguments.'
          : `${command} needs exactly one ${command === 'create' ? 'run file' : 'run ID'}.`,
      );
    }
    const target = parsed.positionals[0] as string;
    const print = (value: unknown, lines: () => string[]): void => {
      deps.out(
        args.flag('json') ? `${JSON.stringify(value, null, 2)}\n` : `${lines().join('\n')}\n`,
      );
    };
    if (command === 'create') {
      const plan = loadRunFile(target);
      if (args.flag('dry-run')) {
        print(plan.request, () => [
          `${target}: run ${plan.request.runId} is ready to create (nothing sent).`,
        ]);
        return RUN_EXIT.OK;
      }
      transport = deps.transport ?? connect(args);
      const created = await createRun(transport, plan);
      print(created, () => [
        `run ${created.run.runId} created (tx ${created.created.txId}, block ${created.created.blockNumber}); round 0 opened (tx ${created.opened.txId})`,
        `initial model ${created.run.initialModelHash}`,
        `next: each hospital runs fedledger-trainer run --run ${created.run.runId} …; fedledger-run status ${created.run.runId} shows progress`,
      ]);
      return RUN_EXIT.OK;
    }
    transport = deps.transport ?? connect(args);
    if (command === 'list') {
      const runs = await getJson<RunListView>(transport, '/v1/runs');
      print(runs, () => listLines(runs));
    } else if (command === 'status') {
      const status = await getJson<RunStatus>(transport, `/v1/runs/${encodeURIComponent(target)}`);
      print(status, () => statusLines(status));
    } else {
      const closed = await getJson<RoundClosedView>(
        transport,
        `/v1/runs/${encodeURIComponent(target)}/close`,
        'POST',
      );
      print(closed, () => closedLines(closed));
    }
    return RUN_EXIT.OK;
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof UsageError) {
      deps.err(`fedledger-run: ${message}\n(fedledger-run --help for usage)\n`);
      return RUN_EXIT.USAGE;
    }
    if (err instanceof RunFileError) {
      deps.err(`fedledger-run: ${message}\n`);
      return RUN_EXIT.RUN_FILE;
    }
    if (err instanceof GatewayClientError) {
      deps.err(`fedledger-run: ${message}\n`);
      return RUN_EXIT.GATEWAY;
    }
    deps.err(`fedledger-run: ${(err as Error).stack ?? String(err)}\n`);
    return RUN_EXIT.INTERNAL;
  } finally {
    transport?.close();
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
