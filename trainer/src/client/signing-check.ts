// What a hospital checks before it signs anything the gateway hands it. The gateway builds the
// proposal under the hospital's certificate and endorses it; the hospital's signatures are what
// make the ledger record the hospital's. So the hospital decodes both in full and signs only its
// own call (its SubmitUpdate, or its AdvertiseKeys in a secure-aggregation round; see
// signing-expectation.ts): the expected channel, chaincode and function, every argument equal to
// what its own update or keys say, its own certificate as the only creator, and an endorsement
// that writes exactly its own record under its own key. It computes the digests itself. Anything
// else is refused with SigningRefusedError, saying what differed.
import { X509Certificate, createHash } from 'node:crypto';
import type { SigningFormat } from '@fedledger/protocol';
import { canonicalJson } from '@fedledger/protocol';
import { GatewayClientError } from './errors';
import type { ProposalView, TransactionView } from './signed-bytes';
import { UndecodableError, decodeProposal, decodeTransaction } from './signed-bytes';
import type { SignedCall, SigningExpectation } from './signing-expectation';
import { signedCallOf } from './signing-expectation';

export type {
  KeysSigningExpectation,
  LedgerExpectation,
  SigningExpectation,
  UpdateSigningExpectation,
} from './signing-expectation';
export { SIMULATED_LEDGER } from './signing-expectation';

/** How far a proposal's time (which the ledger records) may be from the hospital's clock. */
const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** The gateway asked the hospital to sign something other than its own call; nothing was signed. */
export class SigningRefusedError extends GatewayClientError {
  /** What differed (`proposal.sha256`, `transaction.writes` …). */
  readonly field: string;

  constructor(field: string, message: string) {
    super('SIGNING_REFUSED', `refusing to sign: ${message}`);
    this.field = field;
  }
}

function derOf(pem: string): Buffer | undefined {
  try {
    return new X509Certificate(pem).raw;
  } catch {
    return undefined;
  }
}

const short = (value: unknown): string => {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s !== undefined && s.length > 24 ? `${s.slice(0, 16)}…` : String(s);
};

function checkCreator(
  where: string,
  creator: { mspId: string; certificatePem: string },
  expect: SigningExpectation,
): void {
  if (creator.mspId !== expect.mspId) {
    throw new SigningRefusedError(
      `${where}.creator`,
      `the ${where} is made out to ${creator.mspId}, not to ${expect.mspId}`,
    );
  }
  const theirs = derOf(creator.certificatePem);
  const mine = derOf(expect.certificatePem);
  if (!theirs || !mine || !theirs.equals(mine)) {
    throw new SigningRefusedError(
      `${where}.creator`,
      `the ${where}'s creator certificate is not this hospital's certificate`,
    );
  }
}

/** Names the fields in which `actual` differs from `expected` (both plain JSON objects). */
function differences(actual: unknown, expected: object): string[] {
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
    return ['(not an object)'];
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
  const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  return [...keys]
    .filter(
      (k) => has(a, k) !== has(e, k) || canonicalJson(a[k] ?? null) !== canonicalJson(e[k] ?? null),
    )
    .sort()
    .map(
      (k) =>
        `${k} ${has(a, k) ? short(a[k]) : '(absent)'} (expected ${has(e, k) ? short(e[k]) : 'no such field'})`,
    );
}

function checkSubmissionArgs(
  where: string,
  fn: string,
  args: string[],
  expect: SigningExpectation,
  call: SignedCall,
) {
  if (fn !== call.fn) {
    throw new SigningRefusedError(
      `${where}.function`,
      `the ${where} calls ${fn || '(nothing)'}, not ${call.fn}`,
    );
  }
  let parsed: unknown;
  try {
    if (args.length !== 1) throw new Error(`${args.length} arguments`);
    parsed = JSON.parse(args[0] as string);
  } catch {
    throw new SigningRefusedError(
      `${where}.arguments`,
      `the ${where}'s arguments are not one ${call.fn === 'SubmitUpdate' ? 'update submission' : 'key advertisement'}`,
    );
  }
  const diff = differences(parsed, expect.submission);
  if (diff.length > 0) {
    throw new SigningRefusedError(
      `${where}.arguments`,
      `the ${where} would record ${diff.join(', ')}`,
    );
  }
  if (call.argument !== undefined && args[0] !== call.argument) {
    throw new SigningRefusedError(
      `${where}.arguments`,
      `the ${where}'s argument is not the canonical JSON of this hospital's ${call.fn} argument`,
    );
  }
}

/**
 * Decodes and checks the proposal a hospital is asked to sign.
 * @returns the decoded proposal, whose `digest` (computed here) is what to sign.
 * @throws {SigningRefusedError} naming what differs from the hospital's own call.
 */
export function checkProposal(
  format: SigningFormat,
  bytes: Uint8Array,
  expect: SigningExpectation,
): ProposalView {
  if (format !== expect.ledger.format) {
    throw new SigningRefusedError(
      'proposal.format',
      `the proposal is for a ${format} ledger; this hospital takes part in a ${expect.ledger.format} one`,
    );
  }
  let p: ProposalView;
  try {
    p = decodeProposal(format, bytes);
  } catch (err) {
    if (err instanceof UndecodableError) throw new SigningRefusedError('proposal', err.message);
    throw err;
  }
  if (p.channel !== expect.ledger.channel) {
    throw new SigningRefusedError(
      'proposal.channel',
      `the proposal is for channel ${p.channel}, not ${expect.ledger.channel}`,
    );
  }
  if (p.chaincode !== expect.ledger.chaincode) {
    throw new SigningRefusedError(
      'proposal.chaincode',
      `the proposal is for chaincode ${p.chaincode}, not ${expect.ledger.chaincode}`,
    );
  }
  checkCreator('proposal', p.creator, expect);
  if (!p.txIdMatchesNonce) {
    throw new SigningRefusedError(
      'proposal.txId',
      'the proposal is not an endorser transaction whose ID derives from its nonce and creator',
    );
  }
  const skew = Math.abs(Date.parse(p.timestamp) - Date.now());
  if (!(skew <= MAX_CLOCK_SKEW_MS)) {
    throw new SigningRefusedError(
      'proposal.timestamp',
      `the proposal is dated ${p.timestamp}, more than 10 minutes from this hospital's clock`,
    );
  }
  if (p.transientKeys.length > 0) {
    throw new SigningRefusedError(
      'proposal.transient',
      `the proposal carries transient data (${p.transientKeys.join(', ')})`,
    );
  }
  checkSubmissionArgs('proposal', p.fn, p.args, expect, signedCallOf(expect));
  return p;
}

/**
 * Decodes and checks the endorsed transaction a hospital is asked to sign after its proposal.
 * @returns the decoded transaction, whose `digest` (computed here) is what to sign.
 * @throws {SigningRefusedError} naming what differs.
 */
export function checkTransaction(
  bytes: Uint8Array,
  expect: SigningExpectation,
  proposal: ProposalView,
): TransactionView {
  let t: TransactionView;
  try {
    t = decodeTransaction(expect.ledger.format, bytes);
  } catch (err) {
    if (err instanceof UndecodableError) throw new SigningRefusedError('transaction', err.message);
    throw err;
  }
  if (t.txId !== proposal.txId || t.channel !== proposal.channel) {
    throw new SigningRefusedError(
      'transaction.txId',
      `the transaction is ${short(t.txId)} on ${t.channel}, not the proposal ${short(proposal.txId)} just signed`,
    );
  }
  if (t.headers !== proposal.headers || !t.endorserTransaction) {
    throw new SigningRefusedError(
      'transaction.header',
      "the transaction's headers are not the proposal's just signed (or it is not an endorser transaction)",
    );
  }
  if (t.actions !== 1) {
    throw new SigningRefusedError(
      'transaction.actions',
      `the transaction has ${t.actions} actions`,
    );
  }
  for (const creator of t.creators) checkCreator('transaction', creator, expect);
  if (t.chaincode !== expect.ledger.chaincode) {
    throw new SigningRefusedError(
      'transaction.chaincode',
      `the transaction invokes chaincode ${t.chaincode}, not ${expect.ledger.chaincode}`,
    );
  }
  const call = signedCallOf(expect);
  checkSubmissionArgs('transaction', t.fn, t.args, expect, call);
  if (
    proposal.proposalHash &&
    !(t.proposalHash && Buffer.from(t.proposalHash).equals(Buffer.from(proposal.proposalHash)))
  ) {
    throw new SigningRefusedError(
      'transaction.proposalHash',
      'the endorsement is not for the proposal this hospital signed',
    );
  }
  const s = expect.submission;
  const readable = call.key;
  if (t.response.status !== 200 || t.response.payload !== readable) {
    throw new SigningRefusedError(
      'transaction.response',
      `the endorsement returned ${t.response.status} "${short(t.response.payload)}", not 200 "${readable}"`,
    );
  }
  const [write, ...more] = t.writes;
  if (!write || more.length > 0 || t.otherWrites > 0) {
    throw new SigningRefusedError(
      'transaction.writes',
      `the endorsement writes ${t.writes.length + t.otherWrites} entries (${t.writes.map((w) => JSON.stringify(w.key)).join(', ')}); ${call.fn} writes only ${readable}`,
    );
  }
  if (
    write.namespace !== expect.ledger.chaincode ||
    write.key !== call.stateKey ||
    write.isDelete
  ) {
    throw new SigningRefusedError(
      'transaction.writes',
      `the endorsement writes ${JSON.stringify(write.key)} in ${write.namespace}${write.isDelete ? ' (a delete)' : ''}, not ${readable}`,
    );
  }
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(write.value) as Record<string, unknown>;
  } catch {
    throw new SigningRefusedError('transaction.writes', 'the written record is not JSON');
  }
  const fingerprint = createHash('sha256')
    .update(derOf(expect.certificatePem) ?? Buffer.alloc(0))
    .digest('hex');
  const { docType, key: recordKey, creator, txId, timestamp, ...fields } = record;
  const diff = differences(fields, s);
  if (timestamp !== proposal.timestamp) diff.push(`timestamp ${short(timestamp)}`);
  if (docType !== call.docType) diff.push(`docType ${short(docType)}`);
  if (txId !== proposal.txId) diff.push(`txId ${short(txId)}`);
  if (recordKey !== readable) diff.push(`key ${short(recordKey)}`);
  if (
    canonicalJson(creator ?? null) !==
    canonicalJson({ mspId: s.mspId, certFingerprint: fingerprint })
  ) {
    diff.push(`creator ${short(creator)}`);
  }
  if (diff.length > 0) {
    throw new SigningRefusedError(
      'transaction.writes',
      `the written record has ${diff.join(', ')}`,
    );
  }
  return t;
}
