// What `fedledger-trainer run` does by a run's protection. A plaintext run trains on the models as
// served and sends float32 updates; an encrypted (CKKS) run needs this hospital's key file, decrypts
// every model and encrypts every update after its DP noise. Which one is read from the run's
// verified ledger record, never decided by the gateway; and a hospital given a key refuses to send
// plaintext, so a run that turns out not to be encrypted cannot take its updates in the clear.
import type { Container, ModelSpec, RunRecord } from '@fedledger/protocol';
import { decodeContainer, encodeContainer } from '@fedledger/protocol';
import type { OpenedKeyFile } from '@fedledger/protocol/ckks';
import type { CkksParticipant } from '../client/ckks-participation';
import { ckksSettingsOf, newCkksParticipant } from '../client/ckks-participation';
import type { GatewayClient, VerifiedModel } from '../client/gateway-client';
import { KeyStoreError } from '../errors';
import { PASSPHRASE_ENV, checkRunKey, openKeyFile, resolvePassphrase } from '../he/key-store';
import type { ArgReader } from './args';

/** The options of `run` that concern protection. */
export const PROTECTION_OPTIONS = ['key-file', 'passphrase-file'] as const;

/** Help lines for {@link PROTECTION_OPTIONS}. */
export const PROTECTION_HELP = `  --key-file FILE            encrypted (CKKS) runs: this hospital's copy of the run's key
                             (keys init, or keys import); refused unless it is the key the
                             run records on the ledger, and refused for a plaintext run
  --passphrase-file FILE     the key file's passphrase (first line);
                             default: $${PASSPHRASE_ENV}`;

/** How a run's models come in and its updates go out. */
export interface RunProtection {
  /**
   * The plaintext model of a round from its verified input model (decrypted in a CKKS run).
   * @throws {KeyStoreError} for a CKKS run without this hospital's key, or a plaintext run with one.
   */
  openModel(
    run: RunRecord,
    spec: ModelSpec,
    round: number,
    model: VerifiedModel,
  ): Promise<Container>;
  /** The bytes to submit for a float32 update (encrypted in a CKKS run). */
  updateBytes(update: Container): Promise<Uint8Array>;
  /** The final model's bytes to write, and what the completion line says of them. */
  finalModel(
    run: RunRecord,
    spec: ModelSpec,
    model: VerifiedModel,
  ): Promise<{ bytes: Uint8Array; says: string }>;
}

/** This hospital's opened key file, and where it was read from. */
export interface RunKey {
  file: string;
  opened: OpenedKeyFile;
}

/**
 * Opens the key file --key-file names (undefined without one), with the passphrase from
 * --passphrase-file or the environment.
 * @throws {KeyStoreError} or {CkksError} when it cannot be opened (wrong passphrase, altered file).
 */
export async function runKeyFromArgs(
  args: ArgReader,
  log: (line: string) => void,
): Promise<RunKey | undefined> {
  const file = args.string('key-file');
  if (file === undefined) {
    if (args.string('passphrase-file') !== undefined) {
      log('warning: --passphrase-file is for --key-file, which is not given');
    }
    return undefined;
  }
  return {
    file,
    opened: await openKeyFile(file, resolvePassphrase(args.string('passphrase-file'))),
  };
}

/** The protection `run` works with, given this hospital's key (if any) and its gateway client. */
export function newRunProtection(
  key: RunKey | undefined,
  client: GatewayClient,
  log: (line: string) => void,
): RunProtection {
  let ckks: CkksParticipant | undefined;
  let checked = false;

  /** The run's protection, decided once from its ledger record. */
  const participantFor = (run: RunRecord, spec: ModelSpec): CkksParticipant | undefined => {
    if (checked) return ckks;
    const settings = ckksSettingsOf(run);
    if (settings === undefined) {
      if (key !== undefined) {
        throw new KeyStoreError(
          `run ${run.runId} is not encrypted (its ledger record has no CKKS settings), but --key-file ${key.file} was given: refusing to send this hospital's updates in plaintext. Leave out --key-file to take part in a plaintext run.`,
        );
      }
      checked = true;
      return undefined;
    }
    const secretKey = checkRunKey(key, {
      runId: run.runId,
      keyFingerprint: settings.keyFingerprint,
    });
    log(
      `protection: CKKS, key ${settings.keyFingerprint} as the run records it; updates are encrypted after their DP noise, models decrypted here`,
    );
    ckks = newCkksParticipant({
      run,
      settings,
      spec,
      secretKey,
      downloadRoundModel: (round) => client.downloadRoundModel(run.runId, round),
      log,
    });
    checked = true;
    return ckks;
  };

  return {
    async openModel(run, spec, round, model) {
      const participant = participantFor(run, spec);
      return participant ? participant.roundModel(round, model) : decodeContainer(model.bytes);
    },
    async updateBytes(update) {
      return ckks ? ckks.encryptUpdate(update) : encodeContainer(update);
    },
    async finalModel(run, spec, model) {
      const participant = participantFor(run, spec);
      if (!participant) {
        return { bytes: model.bytes, says: `sha256 ${model.sha256} (as on the ledger)` };
      }
      const bytes = encodeContainer(await participant.finalModel(model));
      return {
        bytes,
        says: `decrypted from the encrypted aggregate sha256 ${model.sha256} (as on the ledger)`,
      };
    },
  };
}
