// LedgerClient over the in-process SIMULATED ledger (chaincode/src/simulated). It runs the real
// contract and keeps the offline-signing protocol (the hospital signs a proposal digest and a
// transaction digest; signatures are verified against its certificate), but there is no Fabric:
// everything that shows its results says "SIMULATED".
import { X509Certificate, randomBytes } from 'node:crypto';
import type { SimulatedIdentity, SimulatedLedger } from '@fedledger/chaincode';
import { newSimulatedIdentity } from '@fedledger/chaincode';
import type { SimulatedProposal, SimulatedTransaction } from '@fedledger/protocol';
import { SIMULATED_CHANNEL, canonicalJson, sha256Hex } from '@fedledger/protocol';
import { LedgerUnavailableError, SubmissionStateError } from '../errors';
import { checkStepSignature } from '../pki/organisations';
import type {
  CommitInfo,
  ContractFunctionName,
  LedgerClient,
  LedgerEvent,
  OfflineSubmission,
  SubmitterIdentity,
} from './ledger-client';
import { isNotFound, toLedgerError } from './ledger-errors';
import { ContractLedger } from './contract-ledger';

/** Fabric-style client ID of a certificate: `x509::<subject>::<issuer>`. */
export function fabricClientId(cert: X509Certificate): string {
  const dn = (text: string): string => `/${text.split('\n').join('/')}`;
  return `x509::${dn(cert.subject)}::${dn(cert.issuer)}`;
}

function identityOf(submitter: SubmitterIdentity): SimulatedIdentity {
  const cert = new X509Certificate(submitter.certificatePem);
  return { mspId: submitter.mspId, id: fabricClientId(cert), certificate: cert.raw };
}

function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

function digestOf(bytes: Uint8Array): Uint8Array {
  return Buffer.from(sha256Hex(bytes), 'hex');
}

/** LedgerClient for a {@link SimulatedLedger}; `coordinator` is the gateway's own identity. */
export class SimulatedLedgerClient extends ContractLedger implements LedgerClient {
  readonly kind = 'simulated' as const;
  readonly label: string;
  private readonly coordinator: SimulatedIdentity;

  constructor(
    private readonly ledger: SimulatedLedger,
    coordinator: SubmitterIdentity | SimulatedIdentity = newSimulatedIdentity(
      'CoordinatorMSP',
      'coordinator',
    ),
  ) {
    super();
    this.label = ledger.label;
    this.coordinator = 'certificatePem' in coordinator ? identityOf(coordinator) : coordinator;
  }

  protected async write(fn: ContractFunctionName, ...args: string[]): Promise<CommitInfo> {
    try {
      const commit = await this.ledger.submit(this.coordinator, fn, ...args);
      return { txId: commit.txId, blockNumber: commit.blockNumber, status: 'VALID' };
    } catch (err) {
      throw toLedgerError(err, fn);
    }
  }

  protected async read<T>(fn: ContractFunctionName, ...args: string[]): Promise<T | undefined> {
    try {
      return JSON.parse(await this.ledger.evaluate(this.coordinator, fn, ...args)) as T;
    } catch (err) {
      const mapped = toLedgerError(err, fn);
      if (isNotFound(mapped)) return undefined;
      throw mapped;
    }
  }

  newOfflineTransaction(
    submitter: SubmitterIdentity,
    fn: ContractFunctionName,
    args: string[],
  ): Promise<OfflineSubmission> {
    const identity = identityOf(submitter);
    const proposal: SimulatedProposal = {
      channel: SIMULATED_CHANNEL,
      chaincode: 'fedledger',
      creator: { mspId: identity.mspId, certificate: submitter.certificatePem },
      fn,
      args,
      txId: randomBytes(32).toString('hex'),
      timestamp: new Date().toISOString(),
    };
    const tx = { txId: proposal.txId, timestamp: new Date(proposal.timestamp) };
    const proposalBytes = utf8(canonicalJson(proposal));
    const proposalDigest = digestOf(proposalBytes);
    let endorsed: { digest: Uint8Array; writes: { key: string; value: Buffer }[] } | undefined;
    const ledger = this.ledger;
    const check = (digest: Uint8Array, signature: Uint8Array, step: 'proposal' | 'transaction') =>
      checkStepSignature(submitter, step, digest, signature);
    return Promise.resolve({
      txId: proposal.txId,
      format: 'simulated' as const,
      proposalBytes,
      proposalDigest,
      async endorse(signature: Uint8Array) {
        check(proposalDigest, signature, 'proposal');
        try {
          // Endorsement simulates the transaction; a refusal shows here, as on Fabric.
          const simulated = await ledger.simulate(identity, fn, args, tx);
          const transaction: SimulatedTransaction = {
            proposal,
            result: simulated.result,
            writes: simulated.writes.map((w) => ({
              namespace: 'fedledger',
              key: w.key,
              value: w.value.toString('utf8'),
            })),
          };
          const bytes = utf8(canonicalJson(transaction));
          endorsed = { digest: digestOf(bytes), writes: simulated.writes };
          return { bytes, digest: endorsed.digest };
        } catch (err) {
          throw toLedgerError(err, fn);
        }
      },
      async submit(signature: Uint8Array): Promise<CommitInfo> {
        if (endorsed === undefined) {
          throw new SubmissionStateError(
            'FL_ERR_SUBMISSION_STATE',
            'the transaction has not been endorsed yet',
          );
        }
        check(endorsed.digest, signature, 'transaction');
        let commit;
        try {
          // Only the write set the hospital signed may be committed.
          commit = await ledger.submitEndorsed(identity, fn, args, endorsed.writes, tx);
        } catch (err) {
          if (err instanceof Error && err.message.startsWith('MVCC_READ_CONFLICT:')) {
            throw new LedgerUnavailableError(
              'FL_ERR_COMMIT_FAILED',
              `transaction ${proposal.txId} was not valid: MVCC_READ_CONFLICT`,
            );
          }
          throw toLedgerError(err, fn);
        }
        return { txId: commit.txId, blockNumber: commit.blockNumber, status: 'VALID' };
      },
    });
  }

  onEvent(listener: (event: LedgerEvent) => void): () => void {
    return this.ledger.onEvent((e) =>
      listener({
        name: e.name as LedgerEvent['name'],
        payload: JSON.parse(e.payload.toString('utf8')) as unknown,
        txId: e.txId,
        blockNumber: e.blockNumber,
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
