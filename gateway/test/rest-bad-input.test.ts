// Every kind of bad input gets a 4xx problem+json with its stable code; nothing is stored or
// recorded, and the gateway keeps serving.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Reply } from '../src/testing';
import { Harness, createRun, update } from '../src/testing';

const RUN = 'bad-input';

function expectProblem(res: Reply, status: number, code: string): void {
  expect(res.status, res.body.toString()).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
  const body = res.json<{ code: string; status: number; detail: string; type: string }>();
  expect(body.code).to.equal(code);
  expect(body.status).to.equal(status);
  expect(body.detail).to.be.a('string').and.not.equal('');
  expect(body.type).to.match(new RegExp(`#${code}$`));
}

describe('REST bad input', function () {
  let h: Harness;
  let blobCount: () => number;
  let before0: number;

  before(async () => {
    h = await Harness.create();
    await h.stop();
    await h.start({ maxUploadBytes: 64 * 1024 });
    await createRun(h, RUN);
    const dir = join(h.dir, 'state', 'blobs', 'sha256');
    blobCount = () =>
      readdirSync(dir, { recursive: true }).filter((f) => String(f).length > 60).length;
  });
  beforeEach(() => {
    before0 = blobCount();
  });
  afterEach(async () => {
    // Nothing stored, nothing on the ledger, and the gateway still answers.
    expect(blobCount()).to.equal(before0);
    const health = await h.call(null, 'GET', '/healthz');
    expect(health.status).to.equal(200);
  });
  after(async () => {
    const updates = await h.call('auditor', 'GET', `/v1/runs/${RUN}/rounds/0`);
    // Only the one deliberate accepted submission (duplicate test) is on the ledger.
    expect(updates.json<{ updates: unknown[] }>().updates).to.have.length(1);
    await h.dispose();
  });

  const post = (
    who: Parameters<Harness['call']>[0],
    body: Uint8Array | string | object,
    headers = {},
    round = 0,
  ) => h.call(who, 'POST', `/v1/runs/${RUN}/rounds/${round}/updates`, body, headers);

  it('wrong content type → 415', async () => {
    expectProblem(
      await post('hospital1', '{"x":1}', { 'content-type': 'application/json' }),
      415,
      'FL_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('truncated container → 422', async () => {
    const bytes = update(RUN, 0, 'Hospital1MSP', 10, 1);
    expectProblem(
      await post('hospital1', bytes.subarray(0, bytes.length - 7)),
      422,
      'FL_ERR_MALFORMED_CONTAINER',
    );
  });

  it('malformed container → 422', async () => {
    expectProblem(
      await post('hospital1', Buffer.from('not a safetensors file at all')),
      422,
      'FL_ERR_MALFORMED_CONTAINER',
    );
  });

  it('container header over the limit → 422', async () => {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(200n * 1024n * 1024n, 0);
    expectProblem(await post('hospital1', bytes), 422, 'FL_ERR_MALFORMED_CONTAINER');
  });

  it('body over the limit → 413', async () => {
    expectProblem(await post('hospital1', Buffer.alloc(70 * 1024)), 413, 'FL_ERR_BODY_TOO_LARGE');
  });

  /** A valid update with one weight replaced (after encoding, since writers refuse NaN/Inf). */
  function withWeight(value: number): Uint8Array {
    const sentinel = 1234.5;
    const bytes = Buffer.from(
      update(RUN, 0, 'Hospital1MSP', 10, 1, (c) => {
        (c.tensors[0]!.data as Float32Array)[3] = sentinel;
      }),
    );
    const needle = Buffer.from(new Float32Array([sentinel]).buffer);
    const at = bytes.indexOf(needle, 8 + Number(bytes.readBigUInt64LE(0)));
    expect(at).to.be.greaterThan(0);
    Buffer.from(new Float32Array([value]).buffer).copy(bytes, at);
    return bytes;
  }

  it('NaN or Inf weights → 422', async () => {
    expectProblem(await post('hospital1', withWeight(Number.NaN)), 422, 'FL_ERR_NON_FINITE');
    expectProblem(
      await post('hospital1', withWeight(Number.POSITIVE_INFINITY)),
      422,
      'FL_ERR_NON_FINITE',
    );
  });

  it('wrong shapes → 422', async () => {
    const bytes = update(RUN, 0, 'Hospital1MSP', 10, 1, (c) => {
      const t = c.tensors[0]!;
      c.tensors[0] = { ...t, shape: [t.shape[1]!, t.shape[0]!] };
    });
    expectProblem(await post('hospital1', bytes), 422, 'FL_ERR_SHAPE_MISMATCH');
  });

  it('update norm over the bound → 422', async () => {
    const bytes = update(RUN, 0, 'Hospital1MSP', 10, 1, (c) => {
      (c.tensors[0]!.data as Float32Array).fill(50);
    });
    expectProblem(await post('hospital1', bytes), 422, 'FL_ERR_NORM_EXCEEDED');
  });

  it('update for a closed or future round → 409', async () => {
    expectProblem(
      await post('hospital1', update(RUN, 2, 'Hospital1MSP', 10, 1), {}, 2),
      409,
      'FL_ERR_ROUND_NOT_OPEN',
    );
  });

  it('a hospital submitting as another → 403', async () => {
    expectProblem(
      await post('hospital2', update(RUN, 0, 'Hospital1MSP', 10, 1)),
      403,
      'FL_ERR_IDENTITY_MISMATCH',
    );
  });

  it('duplicate submission → 409', async () => {
    const first = await h.submit('hospital1', RUN, 0, update(RUN, 0, 'Hospital1MSP', 10, 1));
    expect(first.status).to.equal(200);
    before0 = blobCount();
    expectProblem(
      await post('hospital1', update(RUN, 0, 'Hospital1MSP', 10, 2)),
      409,
      'FL_ERR_UPDATE_EXISTS',
    );
  });

  it('no client certificate → 401; a certificate from an unknown CA → 401', async () => {
    expectProblem(
      await post(null, update(RUN, 0, 'Hospital3MSP', 10, 1)),
      401,
      'FL_ERR_UNAUTHENTICATED',
    );
    expectProblem(
      await post('stranger', update(RUN, 0, 'Hospital3MSP', 10, 1)),
      401,
      'FL_ERR_UNKNOWN_CA',
    );
  });

  it('an auditor trying to write → 403', async () => {
    expectProblem(
      await post('auditor', update(RUN, 0, 'Hospital3MSP', 10, 1)),
      403,
      'FL_ERR_READ_ONLY',
    );
    expectProblem(
      await h.call('auditor', 'POST', '/v1/runs', { runId: 'x' }),
      403,
      'FL_ERR_READ_ONLY',
    );
  });

  it('a bad signature at either signing step → 400, and the session can still be completed', async () => {
    const upload = await post('hospital3', update(RUN, 0, 'Hospital3MSP', 10, 3));
    expect(upload.status).to.equal(201);
    before0 = blobCount();
    const { submissionId, proposalDigest } = upload.json<{
      submissionId: string;
      proposalDigest: string;
    }>();
    // Signed by another hospital's key.
    const wrong = await h.sign('hospital2', proposalDigest);
    expectProblem(
      await h.call('hospital3', 'POST', `/v1/submissions/${submissionId}/proposal-signature`, {
        signature: wrong,
      }),
      400,
      'FL_ERR_BAD_SIGNATURE',
    );
    const endorsed = await h.call(
      'hospital3',
      'POST',
      `/v1/submissions/${submissionId}/proposal-signature`,
      {
        signature: await h.sign('hospital3', proposalDigest),
      },
    );
    expect(endorsed.status).to.equal(200);
    const { transactionDigest } = endorsed.json<{ transactionDigest: string }>();
    expectProblem(
      await h.call('hospital3', 'POST', `/v1/submissions/${submissionId}/transaction-signature`, {
        signature: await h.sign('hospital3', proposalDigest),
      }),
      400,
      'FL_ERR_BAD_SIGNATURE',
    );
    // Another identity cannot drive this session.
    expectProblem(
      await h.call('hospital2', 'POST', `/v1/submissions/${submissionId}/transaction-signature`, {
        signature: await h.sign('hospital2', transactionDigest),
      }),
      403,
      'FL_ERR_IDENTITY_MISMATCH',
    );
  });

  it('a signing step for an unknown submission or out of order → 404 / 409', async () => {
    expectProblem(
      await h.call(
        'hospital1',
        'POST',
        '/v1/submissions/00000000-0000-4000-8000-000000000000/proposal-signature',
        {
          signature: 'MEUCIQDabcdefgh',
        },
      ),
      404,
      'FL_ERR_SUBMISSION_NOT_FOUND',
    );
    const upload = await post('hospital2', update(RUN, 0, 'Hospital2MSP', 10, 4));
    before0 = blobCount();
    const { submissionId, proposalDigest } = upload.json<{
      submissionId: string;
      proposalDigest: string;
    }>();
    expectProblem(
      await h.call('hospital2', 'POST', `/v1/submissions/${submissionId}/transaction-signature`, {
        signature: await h.sign('hospital2', proposalDigest),
      }),
      409,
      'FL_ERR_SUBMISSION_STATE',
    );
  });

  it('malformed JSON and unknown routes', async () => {
    expectProblem(
      await h.call('coordinator', 'POST', '/v1/runs', '{not json', {
        'content-type': 'application/json',
      }),
      400,
      'FL_ERR_BAD_REQUEST',
    );
    expectProblem(
      await h.call('coordinator', 'POST', '/v1/runs', { runId: 'bad id!' }),
      400,
      'FL_ERR_BAD_REQUEST',
    );
    expectProblem(await h.call('auditor', 'GET', '/v1/nothing-here'), 404, 'FL_ERR_NOT_FOUND');
  });
});
