// The REST API under hostile input (simulated ledger, 127.0.0.1 only): 5,000 seeded requests with
// random methods, paths (odd run IDs, rounds, hashes, percent-encodings, very long segments),
// content types, headers (oversized, many, odd encodings), identities (each organisation, a
// stranger, none) and bodies (random and deeply
// nested JSON, oversized and random bytes, truncated and mutated update containers). No answer
// may be a 5xx; every refusal is problem+json with a code; memory stays bounded; and afterwards a
// normal round still completes and verifies.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { expect } from 'chai';
import type { OrgName } from '../src/testing';
import { Harness, SPEC, createRun, initialModel, update, waitClosed } from '../src/testing';

const REQUESTS = 5_000;
const CONCURRENCY = 8;

/** mulberry32: a small seeded PRNG, so a failing request can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const optional = (body: Buffer | undefined): { body?: Buffer } => (body ? { body } : {});

interface FuzzRequest {
  who: OrgName | null;
  method: string;
  path: string;
  contentType?: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

describe('fuzzing the REST API: no 5xx from any input', function () {
  this.timeout(120_000);
  let h: Harness;
  const agents = new Map<OrgName | 'none', Agent>();

  before(async () => {
    h = await Harness.create();
    await createRun(h, 'fuzz-run');
  });
  after(async () => {
    for (const agent of agents.values()) agent.destroy();
    await h.dispose();
  });

  const agentFor = (who: OrgName | null): Agent => {
    const key = who ?? 'none';
    let agent = agents.get(key);
    if (!agent) {
      agent = new Agent({
        keepAlive: true,
        ca: readFileSync(h.tls.caCertPath),
        ...(who ? { cert: h.pem(who, 'certPath'), key: h.pem(who, 'keyPath') } : {}),
      });
      agents.set(key, agent);
    }
    return agent;
  };

  const send = (r: FuzzRequest) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const headers: Record<string, string> = { ...r.headers };
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      if (r.body) headers['content-length'] = String(r.body.length);
      const req = request(
        {
          host: '127.0.0.1',
          port: new URL(h.gateway.url).port,
          path: r.path,
          method: r.method,
          headers,
          agent: agentFor(r.who),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(r.body);
    });

  it(`answers ${REQUESTS} seeded hostile requests without a 5xx, every refusal problem+json`, async () => {
    const random = prng(20261202);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const valid = update('fuzz-run', 0, 'Hospital1MSP', 10, 1);
    const runIds = [
      'fuzz-run',
      'nope',
      '..',
      '%2e%2e',
      '%E0%A4%A',
      '%00',
      'a'.repeat(300),
      'x%20y',
      '%F0%9F%98%80',
      'run%2Fwith%2Fslash',
      '-',
      '%F0%9F%99%82',
    ];
    const rounds = ['0', '1', '-1', '1e3', '99999999999', 'abc', '%20', '00'];
    const hashes = ['a'.repeat(64), 'A'.repeat(64), 'zz', '0'.repeat(65), '../../etc/passwd'];
    const ids = ['00000000-0000-0000-0000-000000000000', 'nope', '%ZZ', 'a'.repeat(500)];
    const templates = [
      () => `/v1/runs`,
      () => `/v1/runs/${pick(runIds)}`,
      () => `/v1/runs/${pick(runIds)}/rounds/${pick(rounds)}`,
      () => `/v1/runs/${pick(runIds)}/rounds/${pick(rounds)}/model`,
      () => `/v1/runs/${pick(runIds)}/rounds/${pick(rounds)}/updates`,
      () => `/v1/runs/${pick(runIds)}/model`,
      () => `/v1/runs/${pick(runIds)}/metrics`,
      () => `/v1/runs/${pick(runIds)}/close`,
      () => `/v1/blobs/${pick(hashes)}`,
      () => `/v1/models`,
      () => `/v1/submissions/${pick(ids)}`,
      () => `/v1/submissions/${pick(ids)}/proposal-signature`,
      () => `/v1/submissions/${pick(ids)}/transaction-signature`,
      () => `/v1/audit/runs/${pick(runIds)}/trail`,
      () => `/v1/audit/runs/${pick(runIds)}/verify`,
      () =>
        `/v1/audit/history?key=${pick(['update/x/0/y', '%%%', 'a'.repeat(400), 'run/fuzz-run'])}`,
      () => `/v1/${pick(['', 'x', '..', '%2F'])}`,
      () => `/${pick(['', 'healthz', 'readyz', 'openapi.json', 'nothing', '%C0%AE'])}`,
    ];
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const randomBytes = (n: number) =>
      Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const randomJson = (): unknown => {
      const kind = Math.floor(random() * 7);
      if (kind === 0) return random() * 1e308 * (random() < 0.5 ? -1 : 1);
      if (kind === 1) return 'x'.repeat(Math.floor(random() * 50));
      if (kind === 2) return null;
      if (kind === 3) return [randomJson(), randomJson()];
      if (kind === 4) return random() < 0.5;
      return {
        runId: pick(runIds),
        participants: [pick(runIds)],
        roundsPlanned: randomJson(),
        sampleCounts: randomJson(),
        signature: pick(['AAAA', 'not base64', 'A'.repeat(500)]),
      };
    };
    // A run request that would pass every check but one deeply nested field.
    let runs = 0;
    const deepRun = (depth: number) =>
      Buffer.from(
        `{"runId":"fuzz-deep-${runs++}","participants":["Hospital1MSP"],"roundsPlanned":1,"minUpdatesPerRound":1,` +
          `"modelSpec":${JSON.stringify(SPEC)},"initialModelSha256":"${initialModel('fuzz-run').sha256}",` +
          `"sampleCounts":{"Hospital1MSP":1},"dp":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      );
    const bodies = [
      () => undefined,
      () => deepRun(12_000),
      () => deepRun(20),
      () => Buffer.from(JSON.stringify(randomJson())),
      () => Buffer.from(nested(12_000)),
      () => Buffer.from(`{"a":${nested(40)}}`),
      () => Buffer.from('{"runId": "fuzz-run", '),
      () => randomBytes(Math.floor(random() * 2000)),
      () => Buffer.alloc(300 * 1024, 0x61),
      () => Buffer.from(valid.subarray(0, Math.floor(random() * valid.length))),
      () => {
        const mutated = Buffer.from(valid);
        for (let i = 0; i < 8; i++)
          mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        return mutated;
      },
      () => {
        const huge = Buffer.from(valid);
        huge.writeUInt32LE(0xffffffff, 0);
        huge.writeUInt32LE(0xffff, 4);
        return huge;
      },
    ];
    const types = [
      undefined,
      'application/json',
      'application/vnd.fedledger.container',
      'text/plain',
      'application/json; charset=utf-16',
      'application/json; charset=koi8-r',
      'multipart/form-data; boundary=x',
      'application/vnd.fedledger.container; q=%%',
    ];
    const who: (OrgName | null)[] = [
      'hospital1',
      'hospital2',
      'coordinator',
      'auditor',
      'stranger',
      null,
    ];
    const methods = ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'];
    // Every route with every kind of body, as the two callers that get furthest (the coordinator
    // with JSON, a hospital with a container), then random requests for the rest.
    const systematic: FuzzRequest[] = templates.flatMap((template) =>
      bodies.flatMap((body) => [
        {
          who: 'coordinator' as const,
          method: 'POST',
          path: template(),
          contentType: 'application/json',
          ...optional(body()),
        },
        {
          who: 'hospital1' as const,
          method: 'POST',
          path: template(),
          contentType: 'application/vnd.fedledger.container',
          ...optional(body()),
        },
      ]),
    );
    const requests: FuzzRequest[] = [...systematic];
    requests.push(
      ...Array.from({ length: REQUESTS - systematic.length }, () => {
        const body = pick(bodies)();
        const contentType = pick(types);
        const extra = pick<Record<string, string> | undefined>([
          undefined,
          undefined,
          undefined,
          { 'x-filler': 'x'.repeat(20_000) },
          { accept: pick(['*/*', 'text/html', '']), 'accept-encoding': 'gzip, br' },
          { 'content-encoding': pick(['gzip', 'deflate', 'br', 'identity']) },
          Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, 'v'.repeat(200)])),
        ]);
        return {
          who: pick(who),
          ...(extra ? { headers: extra } : {}),
          method: pick(methods),
          path: pick(templates)(),
          ...(contentType !== undefined ? { contentType } : {}),
          ...optional(body),
        };
      }),
    );

    const rssBefore = process.memoryUsage().rss;
    const counts = { '2xx': 0, '4xx': 0, '5xx': 0 };
    const failures: string[] = [];
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const r = requests[next++] as FuzzRequest;
          const reply = await send(r);
          const label = `${r.method} ${r.path.slice(0, 80)} (${r.contentType ?? 'no type'}, ${r.body?.length ?? 0} bytes, ${r.who ?? 'no certificate'})`;
          if (reply.status >= 500) {
            counts['5xx']++;
            failures.push(`${reply.status} ${label}: ${reply.body.slice(0, 200)}`);
          } else if (reply.status >= 400) {
            counts['4xx']++;
            let code: unknown;
            try {
              code = (JSON.parse(reply.body) as { code?: unknown }).code;
            } catch {
              code = undefined;
            }
            if (!reply.type.startsWith('application/problem+json') || typeof code !== 'string') {
              failures.push(
                `${reply.status} not problem+json: ${label}: ${reply.body.slice(0, 120)}`,
              );
            }
          } else counts['2xx']++;
        }
      }),
    );
    const rssAfter = process.memoryUsage().rss;
    const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
    console.log(
      `      ${REQUESTS} requests in ${((Date.now() - started) / 1000).toFixed(1)} s: ${counts['2xx']} 2xx, ${counts['4xx']} 4xx, ${counts['5xx']} 5xx; RSS ${mib(rssBefore)} → ${mib(rssAfter)} MiB`,
    );
    expect(failures.slice(0, 10), failures.slice(0, 10).join('\n')).to.deep.equal([]);
    expect(counts['5xx']).to.equal(0);
    expect(rssAfter - rssBefore).to.be.below(200 * 1024 * 1024);
  });

  it('accepts one of 60 concurrent uploads of one hospital for one round, 409 for the rest, no 5xx', async () => {
    await createRun(h, 'concurrent', { roundsPlanned: 1 });
    const bytes = update('concurrent', 0, 'Hospital1MSP', 10, 1);
    const replies = await Promise.all(
      Array.from({ length: 60 }, () =>
        send({
          who: 'hospital1',
          method: 'POST',
          path: '/v1/runs/concurrent/rounds/0/updates',
          contentType: 'application/vnd.fedledger.container',
          body: Buffer.from(bytes),
        }),
      ),
    );
    expect(replies.filter((r) => r.status >= 500).map((r) => r.body)).to.deep.equal([]);
    expect(replies.filter((r) => r.status === 201)).to.have.length(1);
    const refused = replies.filter((r) => r.status !== 201);
    expect(refused).to.have.length(59);
    for (const r of refused) {
      expect(r.status, r.body).to.equal(409);
      expect((JSON.parse(r.body) as { code: string }).code).to.equal(
        'FL_ERR_SUBMISSION_IN_PROGRESS',
      );
    }
    // The accepted one completes; after that, the ledger's record answers any further upload.
    const accepted = JSON.parse(replies.find((r) => r.status === 201)?.body ?? '{}') as {
      submissionId: string;
      proposalDigest: string;
    };
    const endorsed = await h.call(
      'hospital1',
      'POST',
      `/v1/submissions/${accepted.submissionId}/proposal-signature`,
      { signature: await h.sign('hospital1', accepted.proposalDigest) },
    );
    const committed = await h.call(
      'hospital1',
      'POST',
      `/v1/submissions/${accepted.submissionId}/transaction-signature`,
      {
        signature: await h.sign(
          'hospital1',
          endorsed.json<{ transactionDigest: string }>().transactionDigest,
        ),
      },
    );
    expect(committed.status, committed.body.toString()).to.equal(200);
    const again = await h.call('hospital1', 'POST', '/v1/runs/concurrent/rounds/0/updates', bytes);
    expect(again.json<{ code: string }>().code).to.equal('FL_ERR_UPDATE_EXISTS');
  });

  it('keeps the claim through a bad signature (no second session), and frees it when the ledger fails the step', async () => {
    await createRun(h, 'after-failure', { roundsPlanned: 1 });
    const bytes = update('after-failure', 0, 'Hospital2MSP', 10, 2);
    const path = '/v1/runs/after-failure/rounds/0/updates';
    const first = await h.call('hospital2', 'POST', path, bytes);
    expect(first.status).to.equal(201);
    const { submissionId, proposalDigest } = first.json<{
      submissionId: string;
      proposalDigest: string;
    }>();
    // A signature that does not verify: refused, and uploading again is still a 409.
    const bad = await h.call(
      'hospital2',
      'POST',
      `/v1/submissions/${submissionId}/proposal-signature`,
      { signature: await h.sign('hospital3', proposalDigest) },
    );
    expect(bad.json<{ code: string }>().code).to.equal('FL_ERR_BAD_SIGNATURE');
    const again = await h.call('hospital2', 'POST', path, bytes);
    expect(again.json<{ code: string }>().code).to.equal('FL_ERR_SUBMISSION_IN_PROGRESS');
    // The ledger refuses the transaction (no ordering): the session ends, a new upload is taken.
    const endorsed = await h.call(
      'hospital2',
      'POST',
      `/v1/submissions/${submissionId}/proposal-signature`,
      { signature: await h.sign('hospital2', proposalDigest) },
    );
    h.outage.steps.add('submitUpdate');
    const failed = await h.call(
      'hospital2',
      'POST',
      `/v1/submissions/${submissionId}/transaction-signature`,
      {
        signature: await h.sign(
          'hospital2',
          endorsed.json<{ transactionDigest: string }>().transactionDigest,
        ),
      },
    );
    h.outage.steps.delete('submitUpdate');
    expect(failed.status).to.equal(503);
    expect((await h.call('hospital2', 'GET', `/v1/submissions/${submissionId}`)).status).to.equal(
      404,
    );
    expect((await h.submit('hospital2', 'after-failure', 0, bytes)).status).to.equal(200);
  });

  it('lets a hospital abandon its own unsigned session, and only its own', async () => {
    await createRun(h, 'abandon', { roundsPlanned: 1 });
    const bytes = update('abandon', 0, 'Hospital3MSP', 10, 3);
    const path = '/v1/runs/abandon/rounds/0/updates';
    const first = await h.call('hospital3', 'POST', path, bytes);
    const { submissionId } = first.json<{ submissionId: string }>();
    const session = `/v1/submissions/${submissionId}`;
    expect((await h.call('hospital2', 'DELETE', session)).status).to.equal(404);
    expect((await h.call('hospital3', 'POST', path, bytes)).status).to.equal(409);
    expect((await h.call('hospital3', 'DELETE', session)).status).to.equal(204);
    expect((await h.call('hospital3', 'GET', session)).status).to.equal(404);
    expect((await h.submit('hospital3', 'abandon', 0, bytes)).status).to.equal(200);
  });

  it('completes and verifies a normal round afterwards', async () => {
    await createRun(h, 'after-fuzz', { roundsPlanned: 1 });
    for (const [i, who] of (['hospital1', 'hospital2', 'hospital3'] as const).entries()) {
      const reply = await h.submit(
        who,
        'after-fuzz',
        0,
        update('after-fuzz', 0, `Hospital${i + 1}MSP`, 10, i),
      );
      expect(reply.status, reply.body.toString()).to.equal(200);
    }
    await waitClosed(h, 'after-fuzz', 0);
    const report = (await h.call('auditor', 'POST', '/v1/audit/runs/after-fuzz/verify')).json<{
      ok: boolean;
    }>();
    expect(report.ok).to.equal(true);
  });
});
