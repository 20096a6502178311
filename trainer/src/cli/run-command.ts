// `fedledger-trainer run`: take part in a federated run through the gateway until it completes —
// per round: wait, download and verify the model (decrypt it in a CKKS run), train (with DP as
// configured), encrypt in a CKKS run, submit through the outbox, print one line; then fetch and
// verify the final model (and decrypt it in a CKKS run).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, ModelSpec, RunRecord } from '@fedledger/protocol';
import { newOutbox } from '../client/outbox';
import type { RoundReport, TrainedUpdate } from '../client/participation';
import { ParticipationStoppedError, participateInRun } from '../client/participation';
import { newSecAggClient } from '../client/secagg-client';
import { newSecAggParticipant } from '../client/secagg-round';
import type { RunSettingsView } from '@fedledger/protocol';
import { sharedMetricsOf } from '@fedledger/protocol';
import type { PrivacyAccountant } from '../dp/privacy-accountant';
import { newPrivacyAccountant, restorePrivacyAccountant } from '../dp/privacy-accountant';
import type { DpSettings } from '../dp/privacy-settings';
import { resolveDp } from '../dp/privacy-settings';
import {
  budgetWarning,
  dataFileSha256,
  projectBudget,
  readPrivacyLedger,
  recordRunPrivacy,
} from '../dp/privacy-ledger';
import { PrivacyError } from '../errors';
import { trainLocalRound } from '../training/local-round';
import type { Command } from './command';
import { optionTable } from './command';
import { ENGINE_HELP, printEpoch, specFileBeside, startBackend } from './common';
import { CSV_FLAGS, CSV_HELP, CSV_OPTIONS } from './data-args';
import { connectFromArgs, GATEWAY_HELP, GATEWAY_OPTIONS } from './gateway-args';
import { checkModel, checkPreprocessing, loadData, runSpec } from './run-inputs';
import {
  PROTECTION_HELP,
  PROTECTION_OPTIONS,
  newRunProtection,
  runKeyFromArgs,
} from './run-protection';
import { dpSettings, epsilonCheck, trainingNumbers } from './train-command';

export const runCommand: Command = {
  name: 'run',
  summary: 'take part in a federated run through the gateway until it completes',
  help: `Usage: fedledger-trainer run --gateway URL --gateway-ca FILE --identities FILE --identity NAME
                             --run ID --data CSV --schema FILE --workdir DIR [options]

${GATEWAY_HELP}
  --data CSV                 the hospital's extract
  --schema FILE              its schema JSON
  --workdir DIR              state: outbox/, submitted/ (every update put on the ledger),
                             preprocessing.json, privacy-<run>.json, final model and its spec,
                             secagg/ (secure-aggregation round secrets, mode 0600)
  --preprocessing FILE|per-site
                             FILE: the run's shared preprocessing (\`preprocess combine\`); refused
                             unless it hashes to the run's preprocessingSha256 on the ledger.
                             per-site: scale with this hospital's own rows only (refused when the
                             run records a shared one). Default: the file kept in --workdir, else
                             per-site with a warning (runs that record no shared preprocessing)
${CSV_HELP}
${PROTECTION_HELP}
  --out FILE                 where to save the final model (default DIR/<run>-final.safetensors;
                             in a CKKS run, the model decrypted from the final aggregate)
  --epochs N --batch-size N --learning-rate X   (defaults 5, 32, 0.001)
  --seed N                   split/oversampling seed (default 42)
  --dp none|update|dp-sgd    privacy mechanism (default none)
  --epsilon X --delta X      target (ε, δ) for the whole run (defaults 1, 1e-5); σ is calibrated
  --rounds N                 rounds to calibrate for (default: the run's planned rounds)
  --clip X                   clipping norm C (default 1)
  --noise-multiplier X       use this σ instead of calibrating
  --accountant pld|rdp       how ε is computed and σ calibrated (default pld; both are printed)
  --privacy-budget X         this data file's ε budget over all runs (composed at the run's δ):
                             warn before a run that would pass it
  --refuse-over-budget       refuse such a run instead (exit 5) before it trains
  --privacy-ledger FILE      ε spent per data file across runs (default DIR/privacy-ledger.json)
  --poll-ms N                first poll interval while waiting (default 500; grows to 10 s)
  --backend NAME             auto (default), tensorflow-gpu, tensorflow, wasm, cpu
  ${ENGINE_HELP}

The model spec is the run's (on the ledger). The hospital signs only its own SubmitUpdate: it
decodes the proposal and the endorsed transaction the gateway hands it and refuses anything else
(exit 8, "refusing to sign: …", naming what differed). In a secure-aggregation run (encoding
secagg on the ledger) it also signs its own AdvertiseKeys, deals its shares to the keys on the
ledger, delivers only its masked update, and reveals shares for the survivors the ledger names;
a share bundle that is not the one the ledger names, or does not authenticate, stops it (exit 8)
before it masks. With a Fabric connection.json it reads its own peer: each commit is confirmed
there, each round's model is refused unless its SHA-256 is the one recorded there, and
secure-aggregation keys and sets are read there; on the simulated ledger the gateway's word is
all there is, and the output says so. An update the gateway cannot take (down, 5xx, ledger unavailable) waits in
DIR/outbox and is sent again when the gateway is back. Ctrl-C stops cleanly (exit 130).
In a CKKS run the gateway aggregates ciphertexts it cannot read: its aggregate of a round is the
encrypted mean update, recorded on the ledger as the next round's input; this hospital checks its
hash as for any model, decrypts it with the run's key and adds it to the model it trained from.
One line per round on stdout: round, local accuracy, ε spent, transaction ID, block, and where
the commit was confirmed; ε by both accountants on stderr. Validation metrics leave the hospital
only if the run shares them (its sharedMetrics setting), noised and composed into ε.

Exit codes: 0 run completed and final model verified, 2 usage, 3 data, 4 model, 5 privacy,
6 backend, 7 key (none for a CKKS run, not the run's, wrong passphrase, or given for a plaintext
run), 8 gateway, 9 model bytes contradict the ledger, 130 stopped, 1 internal.`,
  options: optionTable(
    [
      ...GATEWAY_OPTIONS,
      'data',
      'schema',
      'workdir',
      'preprocessing',
      ...CSV_OPTIONS,
      ...PROTECTION_OPTIONS,
      'out',
      'epochs',
      'batch-size',
      'learning-rate',
      'seed',
      'dp',
      'epsilon',
      'delta',
      'rounds',
      'clip',
      'noise-multiplier',
      'accountant',
      'privacy-budget',
      'privacy-ledger',
      'poll-ms',
      'backend',
      'engine',
    ],
    ['refuse-over-budget', ...CSV_FLAGS],
  ),
  async run(args) {
    const runId = args.required('run');
    const workdir = args.required('workdir');
    const dp = dpSettings(args);
    const numbers = trainingNumbers(args);
    const pollMs = args.countAtLeast('poll-ms');
    mkdirSync(workdir, { recursive: true });
    const { data, mode: prepMode } = loadData(args, workdir);
    await startBackend(args.string('backend'));
    // A key file opens first: a wrong passphrase stops the command before it connects or trains.
    const key = await runKeyFromArgs(args, (line) => console.error(line));
    const { identity, client, ownLedger, clientOptions } = connectFromArgs(args);
    const protection = newRunProtection(key, client, (line) => console.error(line));
    const secaggClient = newSecAggClient(clientOptions);
    const stateFile = join(workdir, `privacy-${runId}.json`);
    const accountant: PrivacyAccountant = existsSync(stateFile)
      ? restorePrivacyAccountant(JSON.parse(readFileSync(stateFile, 'utf8')), dp.accountant)
      : newPrivacyAccountant({ kind: dp.accountant ?? 'pld' });
    const budget = args.number('privacy-budget');
    const ledgerFile = args.string('privacy-ledger') ?? join(workdir, 'privacy-ledger.json');
    const dataSha256 = dataFileSha256(args.required('data'));
    let spec: ModelSpec | undefined;
    let runDp: DpSettings | undefined;
    /** The run's spec, once its preprocessing is checked against this hospital's data. */
    const specOf = (run: RunRecord): ModelSpec => {
      if (spec === undefined) checkPreprocessing(run, data, prepMode);
      spec ??= runSpec(run, data);
      return spec;
    };

    const trainRound = async (input: {
      run: RunRecord;
      round: number;
      model: Container;
    }): Promise<TrainedUpdate> => {
      const roundSpec = specOf(input.run);
      if (dp.mode === 'none' && (input.run.settings as Partial<RunSettingsView>).dp) {
        console.error(`warning: run ${runId} records DP settings, but --dp is none`);
      }
      checkModel(input.model, roundSpec, input.round);
      const sharedMetrics = sharedMetricsOf(input.run.settings);
      if (runDp === undefined) {
        runDp = {
          plannedRounds: input.run.roundsPlanned,
          ...dp,
          ...(sharedMetrics.mode === 'noised'
            ? { metricsNoiseMultiplier: sharedMetrics.noiseMultiplier }
            : {}),
        };
        checkBudget(runDp);
      }
      const result = await trainLocalRound({
        spec: roundSpec,
        globalTensors: input.model.tensors,
        data,
        runId,
        round: input.round,
        mspId: identity.mspId,
        dp: runDp,
        accountant,
        sharedMetrics,
        ...numbers,
        onEpoch: printEpoch,
      });
      if (result.dp) {
        writeFileSync(stateFile, `${JSON.stringify(accountant.state(), null, 2)}\n`);
        recordRunPrivacy(ledgerFile, { dataSha256, runId, events: accountant.events() });
        console.error(
          `privacy: round ${input.round}: ε spent ${result.dpAccounting?.epsilonSpent ?? '-'} (${accountant.kind.toUpperCase()}, the ledger's)${epsilonCheck(result.epsilons)}${result.sharedMetrics ? '; noised metrics shared' : '; no metrics shared'}`,
        );
      }
      return {
        bytes: await protection.updateBytes(result.update),
        accuracy: result.metrics.after.accuracy,
        ...(result.epsilon !== undefined ? { epsilon: result.epsilon } : {}),
      };
    };

    /** Composes earlier runs on this data file with this run's plan; warns or refuses. */
    const checkBudget = (settings: DpSettings): void => {
      const resolved = resolveDp(settings, data.trainOriginal.rows, numbers);
      if (!resolved) return;
      const rounds = resolved.plannedRounds;
      const planned = [
        { ...resolved.roundEvent, count: resolved.roundEvent.count * rounds },
        ...(resolved.metricsEvent ? [{ ...resolved.metricsEvent, count: rounds }] : []),
      ];
      const projection = projectBudget(
        readPrivacyLedger(ledgerFile),
        dataSha256,
        runId,
        planned,
        resolved.delta,
        accountant.kind,
      );
      if (projection.earlierRuns.length > 0) {
        console.error(
          `privacy: ${projection.earlierRuns.length} earlier run(s) on this data file spent ε = ${projection.earlierEpsilon.toFixed(4)}; with this run: ε = ${projection.projectedEpsilon.toFixed(4)} at δ = ${resolved.delta}`,
        );
      }
      if (budget === undefined) return;
      const warning = budgetWarning(projection, budget, runId, resolved.delta);
      if (warning === undefined) return;
      if (args.flag('refuse-over-budget')) {
        throw new PrivacyError(`${warning}; refusing (--refuse-over-budget).`);
      }
      console.error(`warning: ${warning}`);
    };

    const controller = new AbortController();
    let signals = 0;
    const onSignal = (): void => {
      signals += 1;
      if (signals > 1) process.exit(130);
      console.error('stopping after the current step (Ctrl-C again to quit at once)');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const outbox = newOutbox({
        workdir,
        client,
        signer: identity.signer,
        log: (line) => console.error(line),
      });
      // Secure-aggregation runs (settings.encoding 'secagg') mask each update; others pass through.
      const secagg = newSecAggParticipant({
        client: secaggClient,
        runId,
        mspId: identity.mspId,
        signer: identity.signer,
        workdir,
        signal: controller.signal,
        ...(pollMs !== undefined ? { pollMs } : {}),
        log: (line) => console.error(line),
      });
      await secagg
        .resume(async () => (await client.verifiedRun((await client.getRun(runId)).run)).run)
        .catch((err: unknown) => {
          if (controller.signal.aborted) throw new ParticipationStoppedError('stopped.');
          throw err;
        });
      const result = await participateInRun({
        client,
        outbox,
        runId,
        mspId: identity.mspId,
        trainRound,
        openModel: ({ run, round, model }) => protection.openModel(run, specOf(run), round, model),
        signal: controller.signal,
        ...(pollMs !== undefined ? { pollMs } : {}),
        onRound: (r) => console.log(roundLine(r)),
        log: (line) => console.error(line),
        prepareRound: (run, round) => secagg.prepareRound(run, round),
        protectUpdate: (input) => secagg.protectUpdate(input),
        afterDelivery: (run, round) => secagg.afterDelivery(run, round),
      });
      const out = args.string('out') ?? join(workdir, `${runId}-final.safetensors`);
      const finalSpec = spec ?? runSpec(result.run, data);
      const final = await protection.finalModel(result.run, finalSpec, result.finalModel);
      writeFileSync(out, final.bytes);
      // The architecture beside the weights, for `fedledger-trainer export`.
      writeFileSync(specFileBeside(out), `${JSON.stringify(finalSpec, null, 2)}\n`);
      // Nothing of the run's secure aggregation can be asked again: its round state goes.
      await secagg.finish(result.run);
      console.log(
        `run ${runId} completed: final model ${out}  ${final.says}  ${result.rounds.filter((r) => r.delivery !== 'refused').length}/${result.run.roundsPlanned} rounds contributed`,
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      client.close();
      secaggClient.close();
      ownLedger?.close();
    }
  },
};

/** The progress line of one round. */
export function roundLine(r: RoundReport): string {
  const acc = r.accuracy !== undefined ? `${(r.accuracy * 100).toFixed(2)} %` : '-';
  const eps = r.epsilon !== undefined ? r.epsilon.toFixed(4) : '-';
  // Rounds are numbered as on the ledger (from 0); "k of N" says how far the run has come.
  const head = `round ${r.round} (${r.round + 1} of ${r.roundsPlanned})  local accuracy ${acc}  ε spent ${eps}`;
  if (r.delivery === 'refused') return `${head}  REFUSED ${r.refusal ?? ''}`;
  const block = r.blockNumber !== undefined ? `  block ${r.blockNumber}` : '';
  const confirmed = r.confirmedBy !== undefined ? `  confirmed on ${r.confirmedBy}` : '';
  const note = r.delivery === 'already-recorded' ? '  (already on the ledger)' : '';
  return `${head}  tx ${r.txId ?? '-'}${block}${note}${confirmed}`;
}
