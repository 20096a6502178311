// Fixtures for the auditor tests: a finished 3-round run on the simulated ledger, the auditor's
// connection to that ledger for fedledger-audit, and copies of the blob store to tamper with.
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditTrail } from '@fedledger/protocol';
import type { AuditIo, AuditLedgerConnection } from '../src/audit/audit-cli';
import { SimulatedLedgerClient } from '../src';
import type { Harness } from '../src/testing';
import { createRun, update, waitClosed } from '../src/testing';

export const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;

/** Creates `runId` and completes its 3 rounds with all three hospitals; returns the trail. */
export async function completedRun(h: Harness, runId: string): Promise<AuditTrail> {
  await createRun(h, runId);
  for (let round = 0; round < 3; round++) {
    for (const [i, who] of HOSPITALS.entries()) {
      const msp = `Hospital${i + 1}MSP`;
      const reply = await h.submit(
        who,
        runId,
        round,
        update(runId, round, msp, 10 * (i + 1), round * 10 + i),
      );
      if (reply.status !== 200) throw new Error(`submit: ${reply.body.toString()}`);
    }
    await waitClosed(h, runId, round);
  }
  const trail = await h.gateway.ledger.getAuditTrail(runId);
  if (!trail || trail.run.status !== 'completed') throw new Error(`${runId} did not complete`);
  return trail;
}

/** The auditor's view of the harness's simulated ledger, as fedledger-audit connects to it. */
export function simulatedAuditor(h: Harness): AuditLedgerConnection {
  return {
    ledger: new SimulatedLedgerClient(h.ledger, {
      mspId: 'AuditorMSP',
      certificatePem: h.pem('auditor', 'certPath'),
    }),
    peerName: 'the simulated ledger',
    chainInfo: () => Promise.reject(new Error('the simulated ledger has no blocks')),
    block: () => Promise.reject(new Error('the simulated ledger has no blocks')),
    blockOfTransaction: (txId) => Promise.resolve(h.ledger.blockOf(txId)),
    clientCertificate: {
      certPem: h.pem('auditor', 'certPath'),
      keyPem: h.pem('auditor', 'keyPath'),
    },
    close: () => Promise.resolve(),
  };
}

/** Output captured from one fedledger-audit command. */
export interface Captured extends AuditIo {
  stdout: string;
  stderr: string;
}

export function capture(): Captured {
  const c: Captured = {
    stdout: '',
    stderr: '',
    out: (text) => void (c.stdout += text),
    err: (text) => void (c.stderr += text),
  };
  return c;
}

/** The gateway's blob folder (`<state>/blobs`). */
export function blobRoot(h: Harness): string {
  return join(h.dir, 'state', 'blobs');
}

/** A copy of the gateway's blob store (same layout) in `dest`. */
export async function copyBlobStore(h: Harness, dest: string): Promise<string> {
  await cp(blobRoot(h), dest, { recursive: true });
  return dest;
}

/** The blobs as a flat folder, `<dest>/<sha256>`. */
export async function copyBlobsFlat(h: Harness, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const root = join(blobRoot(h), 'sha256');
  for (const prefix of await readdir(root)) {
    for (const name of await readdir(join(root, prefix))) {
      await cp(join(root, prefix, name), join(dest, name));
    }
  }
  return dest;
}

/** Flips the last byte of the blob `sha256` in a gateway-layout folder. */
export async function tamperBlob(dir: string, sha256: string, original: Uint8Array): Promise<void> {
  const bytes = Buffer.from(original);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  await writeFile(join(dir, 'sha256', sha256.slice(0, 2), sha256), bytes);
}
