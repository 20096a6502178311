// The gateway client against a real gateway (HTTPS, client certificates, offline signing) on the
// simulated ledger: submission, refusals with their codes, and the model hash checks.
import { expect } from 'chai';
import { rejection } from '@fedledger/gateway/testing';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdentityFiles } from '@fedledger/gateway';
import { sha256Hex } from '@fedledger/protocol';
import {
  GatewayRequestError,
  GatewayUnavailableError,
  HashMismatchError,
  IdentityFileError,
} from '../src/client/errors';
import { newGatewayClient } from '../src/client/gateway-client';
import type { GatewayTransport } from '../src/client/https-transport';
import { loadHospitalIdentity } from '../src/client/identity';
import { GatewayFixture, initialModel, tinyUpdate } from './gateway-client-fixture';
import { tempDir } from './helpers';

describe('gateway client', function () {
  this.timeout(30_000);
  let f: GatewayFixture;
  before(async () => {
    f = await GatewayFixture.create();
  });
  after(async () => {
    await f.dispose();
  });

  it('loads an identity from identities.json with a signer', async () => {
    const id = loadHospitalIdentity(f.identitiesFile, 'hospital1');
    expect(id.mspId).to.equal('Hospital1MSP');
    expect(id.certPem).to.contain('BEGIN CERTIFICATE');
    expect(id.caCertPem).to.contain('BEGIN CERTIFICATE');
    const signature = await id.signer(new Uint8Array(32).fill(7));
    expect(signature[0]).to.equal(0x30); // DER SEQUENCE
    expect(() => loadHospitalIdentity(f.identitiesFile, 'nobody')).to.throw(/known: hospital1/);
  });

  it('loads an identity from a Fabric connection.json, with paths relative to the file', async () => {
    const dir = tempDir();
    const files = f.identities['hospital2'] as IdentityFiles;
    await mkdir(join(dir, 'h2'));
    await copyFile(files.certPath, join(dir, 'h2', 'cert.pem'));
    await copyFile(files.keyPath, join(dir, 'h2', 'key.pem'));
    const profile = {
      channel: 'fedledger',
      chaincode: 'fedledger',
      peers: {},
      orderers: {},
      identities: {
        hospital2: {
          mspId: 'Hospital2MSP',
          certPath: 'h2/cert.pem',
          keyPath: join(dir, 'h2', 'key.pem'),
          peer: 'peer0.hospital2',
          caCertPath: files.caCertPath,
        },
      },
    };
    await writeFile(join(dir, 'connection.json'), JSON.stringify(profile));
    const id = loadHospitalIdentity(join(dir, 'connection.json'), 'hospital2');
    expect(id).to.include({ name: 'hospital2', mspId: 'Hospital2MSP' });
    expect(id.certPem).to.equal(readFileSync(files.certPath, 'utf8'));
    expect(() => loadHospitalIdentity(join(dir, 'nothing.json'), 'hospital2')).to.throw(
      IdentityFileError,
    );
  });

  it('submits an update through the three signing steps and returns the commit', async () => {
    await f.createRun('submit-1');
    const h1 = f.client('hospital1');
    const bytes = tinyUpdate('submit-1', 0, 'Hospital1MSP');
    const result = await h1.submitUpdate({
      runId: 'submit-1',
      round: 0,
      bytes,
      signer: f.identity('hospital1').signer,
    });
    expect(result.sha256).to.equal(sha256Hex(bytes));
    expect(result.commit.status).to.equal('VALID');
    expect(result.commit.txId).to.match(/^\S+$/);
    expect(result.commit.blockNumber).to.be.a('number');
    expect(result.key).to.equal('update/submit-1/0/Hospital1MSP');
    expect(result.record?.sha256).to.equal(result.sha256);
    const status = await h1.getRun('submit-1');
    expect(status.currentRound).to.equal(0);
    expect(status.rounds[0]?.submitted).to.deep.equal(['Hospital1MSP']);
  });

  it('refuses a second update for the same round with FL_ERR_UPDATE_EXISTS', async () => {
    const h1 = f.client('hospital1');
    const err = await rejection(
      h1.submitUpdate({
        runId: 'submit-1',
        round: 0,
        bytes: tinyUpdate('submit-1', 0, 'Hospital1MSP', 2),
        signer: f.identity('hospital1').signer,
      }),
    );
    expect(err).to.be.instanceOf(GatewayRequestError);
    const e = err as GatewayRequestError;
    expect(e.code).to.equal('FL_ERR_UPDATE_EXISTS');
    expect(e.status).to.equal(409);
    expect(e.detail).to.contain('Hospital1MSP');
    expect(e.transient).to.equal(false);
  });

  it('refuses an update for a round that is not open with FL_ERR_ROUND_NOT_OPEN', async () => {
    const err = await rejection(
      f.client('hospital2').submitUpdate({
        runId: 'submit-1',
        round: 1,
        bytes: tinyUpdate('submit-1', 1, 'Hospital2MSP'),
        signer: f.identity('hospital2').signer,
      }),
    );
    expect(err).to.be.instanceOf(GatewayRequestError);
    expect((err as GatewayRequestError).code).to.equal('FL_ERR_ROUND_NOT_OPEN');
  });

  it('waits for the next round once this hospital has submitted, then sees it open', async () => {
    const h2 = f.client('hospital2');
    const seen: (number | null)[] = [];
    const waiting = f.client('hospital1').waitForRound('submit-1', {
      mspId: 'Hospital1MSP',
      pollMs: 20,
      onProgress: (p) => seen.push(p.status?.currentRound ?? null),
    });
    await h2.submitUpdate({
      runId: 'submit-1',
      round: 0,
      bytes: tinyUpdate('submit-1', 0, 'Hospital2MSP', 3),
      signer: f.identity('hospital2').signer,
    });
    // Quorum is 2 of 3: the round closes at its deadline or when the coordinator closes it.
    await f.gateway?.coordinator.closeNow('submit-1');
    const result = await waiting;
    expect(result).to.include({ state: 'open', round: 1 });
    expect(seen).to.include(0);
  });

  it('downloads a round model whose hash matches the header and the ledger', async () => {
    const model = await f.client('hospital3').downloadRoundModel('submit-1', 0);
    expect(model.sha256).to.equal(initialModel('submit-1').sha256);
    expect(model.record?.inputModelHash).to.equal(model.sha256);
    expect(model.ledgerTxId).to.equal(model.record?.openTxId);
    const checked = await f
      .client('hospital3')
      .downloadRoundModel('submit-1', 1, { ledgerCheck: () => Promise.resolve(model.sha256) })
      .catch((e: unknown) => e);
    // Round 1's input is round 0's aggregate, not the initial model: the ledger check refuses it.
    expect(checked).to.be.instanceOf(HashMismatchError);
  });

  it('refuses model bytes that were tampered with in the gateway blob store', async () => {
    await f.createRun('tamper-1');
    const sha256 = initialModel('tamper-1').sha256;
    const path = f.gateway?.blobs.locate(sha256) as string;
    const original = await readFile(path);
    const altered = Buffer.from(original);
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 0xff;
    await writeFile(path, altered);
    try {
      const err = await rejection(f.client('hospital1').downloadRoundModel('tamper-1', 0));
      // The gateway's blob store may refuse the altered blob itself; if it serves it, we refuse.
      if (err instanceof GatewayRequestError) expect(err.status).to.be.at.least(400);
      else expect(err).to.be.instanceOf(HashMismatchError);
    } finally {
      await writeFile(path, original);
    }
  });

  it('refuses bytes that do not hash to the X-Model-SHA256 header or the ledger record', async () => {
    const real = f.client('hospital1');
    const genuine = await real.downloadRoundModel('tamper-1', 0);
    const tampered = new Uint8Array(genuine.bytes);
    const last = tampered.length - 1;
    tampered[last] = (tampered[last] ?? 0) ^ 0x01;
    // A transport in the middle that swaps the body but keeps the gateway's headers.
    const headers = {
      'x-model-sha256': genuine.sha256,
      'x-ledger-record': Buffer.from(JSON.stringify(genuine.record)).toString('base64'),
    };
    const transport: GatewayTransport = {
      send: () => Promise.resolve({ status: 200, headers, body: tampered }),
      close: () => undefined,
    };
    const client = newGatewayClient({
      url: f.url,
      caCertPem: '',
      certPem: '',
      keyPem: '',
      transport,
    });
    const err = await rejection(client.downloadRoundModel('tamper-1', 0));
    expect(err).to.be.instanceOf(HashMismatchError);
    expect((err as HashMismatchError).expected).to.equal(genuine.sha256);
    expect((err as HashMismatchError).actual).to.equal(sha256Hex(tampered));
    expect(err.message).to.match(/refusing/);
  });

  it('reports an unreachable gateway as GatewayUnavailableError (transient)', async () => {
    const id = f.identity('hospital1');
    const client = newGatewayClient({
      url: 'https://127.0.0.1:1',
      caCertPem: id.certPem,
      certPem: id.certPem,
      keyPem: id.keyPem,
    });
    const err = await rejection(client.getRun('submit-1'));
    expect(err).to.be.instanceOf(GatewayUnavailableError);
    client.close();
  });
});
