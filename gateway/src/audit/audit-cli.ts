// The fedledger-audit commands (the bin is src/cli/audit.ts): an auditor's own reading of the
// ledger. Everything it reports comes from the auditor's peer under the auditor's identity; the
// gateway (or a folder) only supplies bytes, which are re-hashed against the ledger first.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@hyperledger/fabric-gateway';
import type { HistoryEntry } from '@fedledger/protocol';
import { BlobSourceError, newDirBlobSource, newGatewayBlobSource } from './blob-sources';
import type { GatewayBlobSource } from './blob-sources';
import { decodeBlock, decodeChainHeight, formatBlock } from './block-info';
import { formatVerificationReport, verificationExitCode } from './report-format';
import { formatTrailCsv, formatTrailTable, trailView } from './trail-format';
import type { BlobSource } from './verify';
import { Verifier } from './verify';
import { ckksAggregator } from '@fedledger/rules';
import { LedgerRuleError, LedgerUnavailableError } from '../errors';
import { FabricLedgerClient } from '../ledger/fabric-ledger-client';
import type { LedgerClient } from '../ledger/ledger-client';
import { isNotFound, toLedgerError } from '../ledger/ledger-errors';
import { describeParseArgsError } from '../parse-args-error';
import {
  NetworkProfileError,
  defaultNetworkDir,
  loadIdentity,
  loadNetworkProfile,
  newGrpcClient,
} from '../ledger/network-profile';

/** Exit statuses of fedledger-audit. */
export const AUDIT_EXIT = Object.freeze({
  /** The command succeeded; for `verify`, every round verified. */
  OK: 0,
  /** `verify` found at least one problem. */
  NOT_VERIFIED: 1,
  /** The command line is wrong, or the ledger refused an argument (a malformed key). */
  USAGE: 2,
  /** The run, key or block does not exist on the ledger, or the --blobs folder or file is missing. */
  NOT_FOUND: 3,
  /** The network, the peer or the gateway cannot be reached or read. */
  UNAVAILABLE: 4,
  /** Anything else. */
  FAILED: 5,
});

export type AuditExitCode = (typeof AUDIT_EXIT)[keyof typeof AUDIT_EXIT];

export const AUDIT_USAGE = `Usage: fedledger-audit <command> [options]

Reads the ledger through the auditor's own peer, as the auditor. The gateway is never asked what
is true; with --blobs URL it only serves bytes, which are checked against the ledger.

Commands:
  trail <run>                 every round: input model, each update (organisation, SHA-256,
                              samples, ε spent, tx ID, block, time, fate), exclusions with reasons,
                              aggregate; a table, or --json / --csv
  verify <run> --blobs SRC …  decide every round again with the coordinator's rules on bytes
                              from SRC and compare with the ledger: included set, each
                              exclusion's code, the aggregate; plus the chain of custody and key
                              histories; one ✓/✗ line per round, ? for an exclusion whose bytes
                              no source supplied (unverifiable: bytes withheld)
                              SRC is a folder (the gateway's blob store, <dir>/sha256/<xx>/<sha>,
                              a flat <dir>/<sha>, or a hospital's fedledger-trainer export-updates)
                              or the gateway's https:// URL; repeat --blobs to add sources, asked
                              in order (the first bytes that hash to the ledger record win)
  history <key>               every write to a ledger key (run/<run>, round/<run>/<r>,
                              update/<run>/<r>/<msp>)
  block <n>                   block n: previous hash, data hash, transactions (qscc)

Options:
  --network-dir DIR           Fabric network folder with connection.json
                              (default $FEDLEDGER_NETWORK_DIR or .fedledger/network)
  --identity NAME             identity in connection.json (default auditor)
  --peer NAME                 peer to read through (default: the identity's own, peer0.auditor)
  --gateway-ca FILE           verify with a URL: the CA of the gateway's TLS certificate
                              (the auditor's certificate and key authenticate the requests)
  --json                      machine-readable output (trail, verify, history, block)
  --csv                       trail as CSV, one row per update
  -h, --help                  this text

Exit codes:
  0  success; for verify, every round ✓
  1  verify found a problem (a round ✗ or a run-level problem)
  2  usage error, or the ledger refused an argument
  3  not found: the run, key or block is not on the ledger, or the --blobs folder or
     --gateway-ca file does not exist
  4  unavailable: no network (run scripts/network.sh up), the peer or the gateway is unreachable
  5  any other failure`;

/** Where the auditor's ledger connection goes. */
export interface AuditConnectOptions {
  networkDir: string;
  identity: string;
  peer?: string;
}

/** What the commands need from the ledger: reads, and Fabric's block query (qscc). */
export interface AuditLedgerConnection {
  ledger: Pick<LedgerClient, 'getAuditTrail' | 'getHistory' | 'label'>;
  /** Name of the peer the reads go through. */
  peerName: string;
  /** Serialized `common.BlockchainInfo` (qscc GetChainInfo). */
  chainInfo(): Promise<Uint8Array>;
  /** Serialized `common.Block` number `n` (qscc GetBlockByNumber). */
  block(n: number): Promise<Uint8Array>;
  /** Number of the block that committed `txId` (qscc GetBlockByTxID); undefined if none. */
  blockOfTransaction(txId: string): Promise<number | undefined>;
  /** The identity's certificate and key (PEM): the client certificate towards the gateway. */
  clientCertificate: { certPem: string; keyPem: string };
  close(): Promise<void>;
}

export interface AuditIo {
  out(text: string): void;
  err(text: string): void;
}

/** Seams for tests: another ledger (the simulated one) and captured output. */
export interface AuditDeps {
  connect(options: AuditConnectOptions): AuditLedgerConnection;
  io: AuditIo;
}

/** A failure with the exit status it ends the command with. */
export class AuditCommandError extends Error {
  readonly exitCode: AuditExitCode;

  constructor(exitCode: AuditExitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/**
 * The auditor's connection to Fabric: its identity, through its own peer.
 * @throws {AuditCommandError} (usage) for an identity or peer the profile does not name;
 * NetworkProfileError when there is no profile or its files cannot be read.
 */
export function connectFabricAuditor(options: AuditConnectOptions): AuditLedgerConnection {
  const file = join(options.networkDir, 'connection.json');
  const profile = loadNetworkProfile(file);
  // A name the profile does not know is a mistake on the command line, not an outage.
  if (!profile.identities[options.identity]) {
    const known = Object.keys(profile.identities).join(', ');
    throw new AuditCommandError(
      AUDIT_EXIT.USAGE,
      `--identity ${options.identity}: ${file} has no identity of that name (known: ${known})`,
    );
  }
  const peerName = options.peer ?? profile.identities[options.identity]?.peer ?? '';
  const peer = profile.peers[peerName];
  if (!peer) {
    const known = Object.keys(profile.peers).join(', ');
    throw new AuditCommandError(
      AUDIT_EXIT.USAGE,
      `--peer ${peerName}: ${file} has no peer of that name (known: ${known})`,
    );
  }
  const loaded = loadIdentity(profile, options.identity);
  const keyPath = (profile.identities[options.identity] as { keyPath: string }).keyPath;
  const client = newGrpcClient(peer);
  const ledger = new FabricLedgerClient({
    client,
    channel: profile.channel,
    chaincode: profile.chaincode,
    identity: loaded.identity,
    signer: loaded.signer,
  });
  const deadline = () => ({ deadline: Date.now() + 10_000 });
  const system = connect({
    client,
    identity: loaded.identity,
    signer: loaded.signer,
    evaluateOptions: deadline,
  });
  const qscc = system.getNetwork(profile.channel).getContract('qscc');
  const query = async (fn: string, ...args: string[]): Promise<Uint8Array> => {
    try {
      return await qscc.evaluateTransaction(fn, ...args);
    } catch (err) {
      throw toLedgerError(err, `qscc ${fn}`);
    }
  };
  return {
    ledger,
    peerName,
    chainInfo: () => query('GetChainInfo', profile.channel),
    block: (n) => query('GetBlockByNumber', profile.channel, String(n)),
    // Every ID asked for comes from a record this peer returned, so its block is there too.
    blockOfTransaction: async (txId) =>
      decodeBlock(await query('GetBlockByTxID', profile.channel, txId)).number,
    clientCertificate: { certPem: loaded.certificatePem, keyPem: readFileSync(keyPath, 'utf8') },
    async close() {
      await ledger.close();
      system.close();
      client.close();
    },
  };
}

const processIo: AuditIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

interface Parsed {
  command: string;
  operand: string | undefined;
  values: {
    'network-dir'?: string | undefined;
    identity: string;
    peer?: string | undefined;
    blobs?: string[] | undefined;
    'gateway-ca'?: string | undefined;
    json?: boolean | undefined;
    csv?: boolean | undefined;
  };
}

function parse(argv: string[]): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'network-dir': { type: 'string' },
      identity: { type: 'string', default: 'auditor' },
      peer: { type: 'string' },
      blobs: { type: 'string', multiple: true },
      'gateway-ca': { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] === 'help') return 'help';
  const [command, operand, ...extra] = positionals;
  if (command === undefined) throw new AuditCommandError(AUDIT_EXIT.USAGE, 'name a command');
  if (!['trail', 'verify', 'history', 'block'].includes(command)) {
    throw new AuditCommandError(AUDIT_EXIT.USAGE, `unknown command "${command}"`);
  }
  if (operand === undefined) {
    const what = { trail: 'a run ID', verify: 'a run ID', history: 'a key', block: 'a number' };
    throw new AuditCommandError(
      AUDIT_EXIT.USAGE,
      `${command} needs ${what[command as keyof typeof what]}`,
    );
  }
  if (extra.length > 0) {
    throw new AuditCommandError(AUDIT_EXIT.USAGE, `unexpected arguments: ${extra.join(' ')}`);
  }
  if (values.json && values.csv) {
    throw new AuditCommandError(AUDIT_EXIT.USAGE, '--json and --csv exclude each other');
  }
  if (values.csv && command !== 'trail') {
    throw new AuditCommandError(AUDIT_EXIT.USAGE, '--csv is for trail only');
  }
  return { command, operand, values };
}

async function trail(conn: AuditLedgerConnection, runId: string, p: Parsed, io: AuditIo) {
  const found = await conn.ledger.getAuditTrail(runId);
  if (!found) throw notFoundRun(runId, conn);
  // The contract cannot know the block a transaction lands in; the auditor's peer can.
  const txIds = found.rounds.flatMap((r) => r.updates.map((u) => u.txId));
  const blocks = new Map<string, number>();
  for (const txId of txIds) {
    const n = await conn.blockOfTransaction(txId);
    if (n !== undefined) blocks.set(txId, n);
  }
  const view = trailView(found, `${conn.ledger.label} (read through ${conn.peerName})`, blocks);
  if (p.values.json) io.out(`${JSON.stringify(view, null, 2)}\n`);
  else if (p.values.csv) io.out(formatTrailCsv(view));
  else io.out(formatTrailTable(view));
  return AUDIT_EXIT.OK;
}

function notFoundRun(runId: string, conn: AuditLedgerConnection): AuditCommandError {
  return new AuditCommandError(
    AUDIT_EXIT.NOT_FOUND,
    `the ledger has no run "${runId}" (read through ${conn.peerName})`,
  );
}

async function verify(
  conn: AuditLedgerConnection,
  runId: string,
  sources: BlobSource[],
  p: Parsed,
  io: AuditIo,
): Promise<AuditExitCode> {
  const verifier = new Verifier(conn.ledger, sources, ckksAggregator());
  const report = await verifier.verifyRun(runId);
  if (report.rounds.length === 0 && report.problems.some((x) => x.code === 'RUN_NOT_FOUND')) {
    throw notFoundRun(runId, conn);
  }
  io.out(p.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatVerificationReport(report));
  return verificationExitCode(report);
}

async function history(conn: AuditLedgerConnection, key: string, p: Parsed, io: AuditIo) {
  const entries: HistoryEntry[] = await conn.ledger.getHistory(key);
  if (entries.length === 0) {
    throw new AuditCommandError(AUDIT_EXIT.NOT_FOUND, `the ledger has no history for key ${key}`);
  }
  if (p.values.json) {
    io.out(`${JSON.stringify({ key, history: entries }, null, 2)}\n`);
  } else {
    io.out(`History of ${key} (${entries.length} write${entries.length === 1 ? '' : 's'})\n`);
    for (const e of entries) {
      io.out(`  ${e.timestamp}  tx ${e.txId}${e.isDelete ? '  DELETE' : ''}\n`);
      io.out(`    ${JSON.stringify(e.value)}\n`);
    }
  }
  return AUDIT_EXIT.OK;
}

async function block(conn: AuditLedgerConnection, operand: string, p: Parsed, io: AuditIo) {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(operand)) {
    throw new AuditCommandError(AUDIT_EXIT.USAGE, `block number "${operand}" is not a number`);
  }
  const n = Number(operand);
  const height = decodeChainHeight(await conn.chainInfo());
  if (n >= height) {
    throw new AuditCommandError(
      AUDIT_EXIT.NOT_FOUND,
      `block ${n} does not exist: the channel has ${height} blocks (0 to ${height - 1})`,
    );
  }
  const info = decodeBlock(await conn.block(n));
  io.out(p.values.json ? `${JSON.stringify(info, null, 2)}\n` : formatBlock(info));
  return AUDIT_EXIT.OK;
}

/** The exit status and message of any failure. */
function classify(err: unknown, conn: AuditLedgerConnection | undefined): AuditCommandError {
  if (err instanceof AuditCommandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const parseProblem = describeParseArgsError(err);
  if (parseProblem !== undefined) return new AuditCommandError(AUDIT_EXIT.USAGE, parseProblem);
  if (err instanceof NetworkProfileError)
    return new AuditCommandError(AUDIT_EXIT.UNAVAILABLE, message);
  if (err instanceof BlobSourceError) {
    return new AuditCommandError(
      err.code === 'BLOBS_NOT_FOUND' ? AUDIT_EXIT.NOT_FOUND : AUDIT_EXIT.UNAVAILABLE,
      message,
    );
  }
  if (err instanceof LedgerRuleError) {
    return new AuditCommandError(
      isNotFound(err) ? AUDIT_EXIT.NOT_FOUND : AUDIT_EXIT.USAGE,
      message,
    );
  }
  if (err instanceof LedgerUnavailableError) {
    const via = conn ? ` through ${conn.peerName}` : '';
    const peerSays = firstDetail(err.cause);
    return new AuditCommandError(
      AUDIT_EXIT.UNAVAILABLE,
      `cannot read the ledger${via}: ${message}${peerSays ? ` (${peerSays})` : ''}; ` +
        'is the network up? (scripts/network.sh status)',
    );
  }
  return new AuditCommandError(AUDIT_EXIT.FAILED, message);
}

/** The first endorsing peer's message in a Fabric Gateway error, shortened. */
function firstDetail(cause: unknown): string | undefined {
  const details = (cause as { details?: unknown } | undefined)?.details;
  if (!Array.isArray(details)) return undefined;
  const first = details[0] as { address?: unknown; message?: unknown } | undefined;
  if (typeof first?.message !== 'string') return undefined;
  const text = first.message.length > 240 ? `${first.message.slice(0, 240)}…` : first.message;
  return typeof first.address === 'string' ? `${first.address}: ${text}` : text;
}

/**
 * Runs one fedledger-audit command line; never throws.
 * @returns the exit status ({@link AUDIT_EXIT}).
 */
export async function runAudit(
  argv: readonly string[],
  deps: Partial<AuditDeps> = {},
): Promise<AuditExitCode> {
  const io = deps.io ?? processIo;
  const connectLedger = deps.connect ?? connectFabricAuditor;
  let conn: AuditLedgerConnection | undefined;
  const gatewaySources: GatewayBlobSource[] = [];
  try {
    const parsed = parse([...argv]);
    if (parsed === 'help') {
      io.out(`${AUDIT_USAGE}\n`);
      return AUDIT_EXIT.OK;
    }
    const { command, values } = parsed;
    const operand = parsed.operand as string;
    // Each --blobs is a folder (checked now) or a gateway URL (opened once connected).
    const blobSpecs: ({ dir: BlobSource } | { url: string })[] = [];
    let caPem: string | undefined;
    if (command === 'verify') {
      if (values.blobs === undefined || values.blobs.length === 0) {
        throw new AuditCommandError(
          AUDIT_EXIT.USAGE,
          'verify needs --blobs <folder or gateway URL> (repeat it to add sources)',
        );
      }
      for (const spec of values.blobs) {
        if (/^https?:\/\//i.test(spec)) blobSpecs.push({ url: spec });
        else blobSpecs.push({ dir: newDirBlobSource({ dir: resolve(spec) }) });
      }
      if (values['gateway-ca'] !== undefined) caPem = readCa(values['gateway-ca']);
    } else if (values.blobs !== undefined || values['gateway-ca'] !== undefined) {
      throw new AuditCommandError(AUDIT_EXIT.USAGE, '--blobs and --gateway-ca are for verify only');
    }
    conn = connectLedger({
      networkDir: values['network-dir'] ? resolve(values['network-dir']) : defaultNetworkDir(),
      identity: values.identity,
      ...(values.peer ? { peer: values.peer } : {}),
    });
    switch (command) {
      case 'trail':
        return await trail(conn, operand, parsed, io);
      case 'history':
        return await history(conn, operand, parsed, io);
      case 'block':
        return await block(conn, operand, parsed, io);
      default: {
        const sources: BlobSource[] = [];
        for (const spec of blobSpecs) {
          if ('dir' in spec) {
            sources.push(spec.dir);
            continue;
          }
          const source = newGatewayBlobSource({
            url: spec.url,
            ...conn.clientCertificate,
            ...(caPem ? { caPem } : {}),
          });
          gatewaySources.push(source);
          await source.probe();
          sources.push(source);
        }
        return await verify(conn, operand, sources, parsed, io);
      }
    }
  } catch (err) {
    const failure = classify(err, conn);
    io.err(`fedledger-audit: ${failure.message}\n`);
    if (failure.exitCode === AUDIT_EXIT.USAGE) io.err('Run fedledger-audit --help for usage.\n');
    return failure.exitCode;
  } finally {
    for (const source of gatewaySources) source.close();
    await conn?.close().catch(() => undefined);
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new AuditCommandError(AUDIT_EXIT.NOT_FOUND, `cannot read the gateway CA file ${file}`, {
      cause: err,
    });
  }
}
