// `fedledger-trainer keys …`: the run's CKKS secret key. One hospital runs `keys init`, then
// `keys export` re-encrypts the key under a transfer passphrase for the others, who run
// `keys import`. Passphrases come from files or the environment, never from the command line.
import { readFileSync } from 'node:fs';
import { parseKeyFile } from '@fedledger/protocol/ckks';
import { KeyStoreError } from '../errors';
import {
  PASSPHRASE_ENV,
  createKeyFile,
  openKeyFile,
  resolvePassphrase,
  saveKeyFile,
} from '../he/key-store';
import type { ArgReader } from './args';
import type { Command } from './command';
import { optionTable } from './command';

/** The environment variable holding the passphrase of a key file in transit between hospitals. */
export const TRANSFER_PASSPHRASE_ENV = 'FEDLEDGER_TRANSFER_PASSPHRASE';

const LOCAL_PASSPHRASE = `  --passphrase-file FILE    the key file's passphrase (first line); default: $${PASSPHRASE_ENV}`;
const TRANSFER_PASSPHRASE = `  --transfer-passphrase-file FILE
                            passphrase of the transfer file; default: $${TRANSFER_PASSPHRASE_ENV}`;

export const keysInitCommand: Command = {
  name: 'keys init',
  summary: "make the run's CKKS secret key and write it to a passphrase-protected key file",
  help: `Usage: fedledger-trainer keys init --run ID --out KEYFILE [--passphrase-file FILE] [--force]

  --run ID                  the training run the key encrypts updates of
  --out KEYFILE             the key file to write (owner-only permissions)
${LOCAL_PASSPHRASE}
  --force                   replace KEYFILE if it exists

Prints the key's public fingerprint, which every encrypted update of the run carries.`,
  options: optionTable(['run', 'out', 'passphrase-file'], ['force']),
  async run(args) {
    const out = args.required('out');
    const runId = args.required('run');
    const passphrase = resolvePassphrase(args.string('passphrase-file'));
    const fingerprint = await createKeyFile(out, runId, passphrase, args.flag('force'));
    console.log(JSON.stringify({ keyFile: out, runId, fingerprint }));
  },
};

export const keysExportCommand: Command = {
  name: 'keys export',
  summary: 'copy the key file under a transfer passphrase, to hand to another hospital',
  help: `Usage: fedledger-trainer keys export --key KEYFILE --out TRANSFERFILE
                              [--passphrase-file FILE] [--transfer-passphrase-file FILE] [--force]

  --key KEYFILE             this hospital's key file
  --out TRANSFERFILE        the copy to write, protected by the transfer passphrase
${LOCAL_PASSPHRASE}
${TRANSFER_PASSPHRASE}
  --force                   replace TRANSFERFILE if it exists`,
  options: optionTable(['key', 'out', 'passphrase-file', 'transfer-passphrase-file'], ['force']),
  run: (args) =>
    rewrap(args, {
      from: args.required('key'),
      fromPassphrase: resolvePassphrase(args.string('passphrase-file')),
      to: args.required('out'),
      toPassphrase: resolvePassphrase(
        args.string('transfer-passphrase-file'),
        TRANSFER_PASSPHRASE_ENV,
      ),
    }),
};

export const keysImportCommand: Command = {
  name: 'keys import',
  summary: "store a key received from another hospital under this hospital's passphrase",
  help: `Usage: fedledger-trainer keys import --in TRANSFERFILE --out KEYFILE
                              [--passphrase-file FILE] [--transfer-passphrase-file FILE] [--force]

  --in TRANSFERFILE         the file made by \`keys export\`
  --out KEYFILE             this hospital's key file to write (owner-only permissions)
${LOCAL_PASSPHRASE}
${TRANSFER_PASSPHRASE}
  --force                   replace KEYFILE if it exists`,
  options: optionTable(['in', 'out', 'passphrase-file', 'transfer-passphrase-file'], ['force']),
  run: (args) =>
    rewrap(args, {
      from: args.required('in'),
      fromPassphrase: resolvePassphrase(
        args.string('transfer-passphrase-file'),
        TRANSFER_PASSPHRASE_ENV,
      ),
      to: args.required('out'),
      toPassphrase: resolvePassphrase(args.string('passphrase-file')),
    }),
};

export const keysFingerprintCommand: Command = {
  name: 'keys fingerprint',
  summary: "print a key file's run and public key fingerprint (no passphrase needed)",
  help: `Usage: fedledger-trainer keys fingerprint --key KEYFILE

  --key KEYFILE             a key file or transfer file

Compare the fingerprint with the "ckks.key_fingerprint" of the run's encrypted updates.`,
  options: optionTable(['key']),
  run(args) {
    const file = args.required('key');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new KeyStoreError(`The key file ${file} cannot be read.`, { cause: error });
    }
    const { runId, fingerprint, paramsHash } = parseKeyFile(text);
    console.log(JSON.stringify({ keyFile: file, runId, fingerprint, paramsHash }));
    return Promise.resolve();
  },
};

/** The `keys` sub-commands, in the order help lists them. */
export const keysCommands: readonly Command[] = [
  keysInitCommand,
  keysExportCommand,
  keysImportCommand,
  keysFingerprintCommand,
];

async function rewrap(
  args: ArgReader,
  files: { from: string; fromPassphrase: string; to: string; toPassphrase: string },
): Promise<void> {
  const opened = await openKeyFile(files.from, files.fromPassphrase);
  await saveKeyFile(
    files.to,
    { runId: opened.runId, secretKey: opened.secretKey, passphrase: files.toPassphrase },
    args.flag('force'),
  );
  console.log(
    JSON.stringify({ keyFile: files.to, runId: opened.runId, fingerprint: opened.fingerprint }),
  );
}
