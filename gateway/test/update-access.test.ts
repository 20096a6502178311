// Who may read an update's bytes, tested by attack: a hospital asks the gateway for another
// hospital's update (plaintext and CKKS ciphertext alike) and is refused with
// FL_ERR_UPDATE_NOT_YOURS; the submitter, the coordinator and the auditor get it; models stay
// readable by every participant.
import { expect } from 'chai';
import type { RoundDetails } from '@fedledger/protocol';
import { modelSpecHash, sha256Hex } from '@fedledger/protocol';
import {
  CKKS_PARAMS,
  encryptUpdate,
  generateSecretKey,
  secretKeyFingerprint,
} from '@fedledger/protocol/ckks';
import { flattenTensors } from '@fedledger/rules';
import type { OrgName } from '../src/testing';
import { Harness, SPEC, createRun, tensors, update, waitClosed } from '../src/testing';

describe('update blobs are served to their submitter, the coordinator and auditors only', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  const blob = (who: OrgName, sha256: string) => h.call(who, 'GET', `/v1/blobs/${sha256}`);
  const updateHashes = async (runId: string, round: number): Promise<Record<string, string>> => {
    const details = (
      await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${round}`)
    ).json<RoundDetails>();
    return Object.fromEntries(details.updates.map((u) => [u.mspId, u.sha256]));
  };
  const expectRefused = async (who: OrgName, sha256: string, owner: string) => {
    const res = await blob(who, sha256);
    expect(res.status, `${who} reading ${owner}'s update`).to.equal(403);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    const problem = res.json<{ code: string; detail: string; type: string }>();
    expect(problem.code).to.equal('FL_ERR_UPDATE_NOT_YOURS');
    expect(problem.type).to.match(/#FL_ERR_UPDATE_NOT_YOURS$/);
    expect(problem.detail).to.contain(`an update of ${owner}`);
    // Not a byte of the update travels with the refusal.
    expect(res.body.length).to.be.lessThan(1000);
  };
  const expectServed = async (who: OrgName, sha256: string) => {
    const res = await blob(who, sha256);
    expect(res.status, `${who} reading ${sha256}`).to.equal(200);
    expect(sha256Hex(res.body)).to.equal(sha256);
  };

  it('refuses hospital B hospital A’s plaintext update; A, the coordinator and the auditor get it', async () => {
    await createRun(h, 'access-plain', { roundsPlanned: 2 });
    for (const [who, msp, seed] of [
      ['hospital1', 'Hospital1MSP', 1],
      ['hospital2', 'Hospital2MSP', 2],
    ] as const) {
      const res = await h.submit(who, 'access-plain', 0, update('access-plain', 0, msp, 100, seed));
      expect(res.status, res.body.toString()).to.equal(200);
    }
    const hashes = await updateHashes('access-plain', 0);
    const a = hashes['Hospital1MSP'] as string;
    const b = hashes['Hospital2MSP'] as string;
    await expectRefused('hospital2', a, 'Hospital1MSP');
    await expectRefused('hospital1', b, 'Hospital2MSP');
    // A participant that submitted nothing is refused as well.
    await expectRefused('hospital3', a, 'Hospital1MSP');
    await expectServed('hospital1', a);
    await expectServed('hospital2', b);
    await expectServed('auditor', a);
    await expectServed('coordinator', b);

    // Models (the initial one and the aggregate) stay readable by every participant.
    // Closed by hand with the quorum (2 of 3), as an operator may.
    const close = await h.call('coordinator', 'POST', '/v1/runs/access-plain/close');
    expect(close.status, close.body.toString()).to.equal(200);
    const closed = await waitClosed(h, 'access-plain', 0);
    for (const who of ['hospital1', 'hospital2', 'hospital3'] as const) {
      await expectServed(who, closed.inputModelHash);
      await expectServed(who, closed.aggregateHash as string);
      const model = await h.call(who, 'GET', '/v1/runs/access-plain/rounds/1/model');
      expect(model.status).to.equal(200);
      expect(sha256Hex(model.body)).to.equal(closed.aggregateHash);
    }
  });

  it('refuses an update uploaded but not yet signed, to everyone but its uploader', async () => {
    await createRun(h, 'access-pending');
    const bytes = update('access-pending', 0, 'Hospital3MSP', 100, 7);
    const upload = await h.call(
      'hospital3',
      'POST',
      '/v1/runs/access-pending/rounds/0/updates',
      bytes,
    );
    expect(upload.status, upload.body.toString()).to.equal(201);
    const sha256 = sha256Hex(bytes);
    await expectRefused('hospital1', sha256, 'Hospital3MSP');
    await expectServed('hospital3', sha256);
    await expectServed('auditor', sha256);
  });

  it('refuses hospital B hospital A’s CKKS ciphertext in an encrypted run', async () => {
    const secretKey = await generateSecretKey(CKKS_PARAMS);
    await createRun(h, 'access-ckks', {
      roundsPlanned: 1,
      he: {
        params: CKKS_PARAMS,
        keyFingerprint: await secretKeyFingerprint(CKKS_PARAMS, secretKey),
      },
    });
    const ciphertexts = await encryptUpdate({
      params: CKKS_PARAMS,
      secretKey,
      flat: flattenTensors(tensors(3), SPEC),
      metadata: {
        kind: 'update',
        runId: 'access-ckks',
        round: 0,
        mspId: 'Hospital1MSP',
        sampleCount: 100,
        modelSpecHash: modelSpecHash(SPEC),
      },
    });
    const res = await h.submit('hospital1', 'access-ckks', 0, ciphertexts);
    expect(res.status, res.body.toString()).to.equal(200);
    const a = (await updateHashes('access-ckks', 0))['Hospital1MSP'] as string;
    expect(a).to.equal(sha256Hex(ciphertexts));
    await expectRefused('hospital2', a, 'Hospital1MSP');
    await expectRefused('hospital3', a, 'Hospital1MSP');
    await expectServed('hospital1', a);
    await expectServed('auditor', a);
    await expectServed('coordinator', a);
  });
});
