// LedgerClient over the in-process SIMULATED ledger (chaincode/src/simulated). It runs the real
// contract and keeps the offline-signing protocol (the hospital signs a proposal digest and a
// transaction digest; signatures are verified against its certificate), but there is no Fabric:
// everything that shows its results says "SIMULATED".
import { X509Certificate, randomBytes } from 'node:crypto';
import type { SimulatedIdentity, SimulatedLedger } from '@fedledger/chaincode';
import { newSimulatedIdentity } from '@fedledger/chaincode';
import type { UpdateSubmission } from '@fedledger/protocol';
import { canonicalJson, sha256Hex } from '@fedledger/protocol';
import { SignatureError, SubmissionStateError } from '../errors';
import { verifyDigestSignature } from '../pki/organisations';
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

function digestOf(bytes: string): Uint8Array {
  return Buffer.from(sha256Hex(Buffer.from(bytes, 'utf8')), 'hex');
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

  newSubmission(
    submitter: SubmitterIdentity,
    submission: UpdateSubmission,
  ): Promise<OfflineSubmission> {
    const identity = identityOf(submitter);
    const argument = canonicalJson(submission);
    const txId = randomBytes(32).toString('hex');
    const proposal = canonicalJson({
      chaincode: 'fedledger',
      creator: { mspId: identity.mspId, certificate: submitter.certificatePem },
      fn: 'SubmitUpdate',
      args: [argument],
      txId,
    });
    const proposalDigest = digestOf(proposal);
    let transactionDigest: Uint8Array | undefined;
    const ledger = this.ledger;
    const check = (digest: Uint8Array, signature: Uint8Array, step: string): void => {
      if (!verifyDigestSignature(submitter.certificatePem, digest, signature)) {
        throw new SignatureError(
          `the ${step} signature does not verify against ${identity.mspId}'s certificate`,
          {
            step,
          },
        );
      }
    };
    return Promise.resolve({
      txId,
      proposalDigest,
      async endorse(signature: Uint8Array): Promise<Uint8Array> {
        check(proposalDigest, signature, 'proposal');
        try {
          // Endorsement simulates the transaction; a refusal shows here, as on Fabric.
          const result = await ledger.evaluate(identity, 'SubmitUpdate', argument);
          transactionDigest = digestOf(`${proposal}\n${result}`);
          return transactionDigest;
        } catch (err) {
          throw toLedgerError(err, 'SubmitUpdate');
        }
      },
      async submit(signature: Uint8Array): Promise<CommitInfo> {
        if (transactionDigest === undefined) {
          throw new SubmissionStateError(
            'FL_ERR_SUBMISSION_STATE',
            'the transaction has not been endorsed yet',
          );
        }
        check(transactionDigest, signature, 'transaction');
        try {
          const commit = await ledger.submit(identity, 'SubmitUpdate', argument);
          return { txId: commit.txId, blockNumber: commit.blockNumber, status: 'VALID' };
        } catch (err) {
          throw toLedgerError(err, 'SubmitUpdate');
        }
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
