// The OpenAPI document against real traffic: a whole small run through a real gateway (HTTPS,
// simulated ledger), every request body and reply recorded, each validated with Ajv against the
// schemas the served /openapi.json gives for its route and status. A reply with a field the
// document does not describe, or a schema that does not fit what the gateway sends, fails here.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import type { Harness as HarnessType, OrgName, Reply } from '../src/testing';
import {
  Harness,
  SECAGG_HOSPITALS,
  createRun,
  createSecAggRun,
  playSecAggRound,
  update,
  waitClosed,
} from '../src/testing';

interface Exchange {
  method: string;
  path: string;
  requestBody?: unknown;
  requestType?: string;
  status: number;
  contentType: string;
  reply: Buffer;
}

interface OpenApiOperation {
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content: Record<string, { schema: object }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: { Problem: object } };
}

/** Records every call the harness makes (the scenario helpers all go through `call`). */
function record(h: HarnessType, log: Exchange[]): void {
  const call = h.call.bind(h);
  h.call = async (who, method, path, body, headers) => {
    const reply: Reply = await call(who, method, path, body, headers);
    log.push({
      method: method.toLowerCase(),
      path: path.split('?')[0] as string,
      ...(body instanceof Uint8Array
        ? { requestType: 'application/vnd.fedledger.container' }
        : body !== undefined
          ? { requestBody: typeof body === 'string' ? body : JSON.parse(JSON.stringify(body)) }
          : {}),
      status: reply.status,
      contentType: String(reply.headers['content-type'] ?? '').split(';')[0] as string,
      reply: reply.body,
    });
    return reply;
  };
}

/** The status and content type of an event stream (it never ends, so only its head is read). */
function eventStreamHead(h: HarnessType, who: OrgName): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/v1/events', h.gateway.url),
      {
        ca: readFileSync(h.tls.caCertPath),
        cert: h.pem(who, 'certPath'),
        key: h.pem(who, 'keyPath'),
        agent: false,
      },
      (res) => {
        resolve({
          method: 'get',
          path: '/v1/events',
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? '').split(';')[0] as string,
          reply: Buffer.alloc(0),
        });
        req.destroy();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function templateOf(doc: OpenApiDocument, method: string, path: string): string | undefined {
  return Object.keys(doc.paths).find(
    (template) =>
      doc.paths[template]?.[method] !== undefined &&
      new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(path),
  );
}

describe('OpenAPI schemas against recorded requests and replies of a whole run', function () {
  let h: Harness;
  const log: Exchange[] = [];
  let doc: OpenApiDocument;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const compiled = new Map<object, ValidateFunction>();
  const validator = (schema: object): ValidateFunction => {
    let v = compiled.get(schema);
    if (!v) compiled.set(schema, (v = ajv.compile(schema)));
    return v;
  };

  before(async function () {
    this.timeout(120_000);
    h = await Harness.create();
    record(h, log);
    const run = 'api-run';
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      await h.call(null, 'GET', path);
    }
    await createRun(h, run, {
      strategy: 'fedavg',
      strategyParams: {},
      roundDeadlineSeconds: 3600,
      dp: { mechanism: 'dp-sgd', targetEpsilon: '1', delta: '0.00001' },
    });
    await h.call('auditor', 'GET', '/v1/runs');
    // Round 0: one submission step by step (with its session's state read between the steps).
    const upload = await h.call(
      'hospital1',
      'POST',
      `/v1/runs/${run}/rounds/0/updates`,
      update(run, 0, 'Hospital1MSP', 100, 1),
    );
    const { submissionId, proposalDigest } = upload.json<{
      submissionId: string;
      proposalDigest: string;
    }>();
    await h.call('hospital1', 'GET', `/v1/submissions/${submissionId}`);
    const endorsed = await h.call(
      'hospital1',
      'POST',
      `/v1/submissions/${submissionId}/proposal-signature`,
      { signature: await h.sign('hospital1', proposalDigest) },
    );
    await h.call('hospital1', 'POST', `/v1/submissions/${submissionId}/transaction-signature`, {
      signature: await h.sign(
        'hospital1',
        endorsed.json<{ transactionDigest: string }>().transactionDigest,
      ),
    });
    await h.submit('hospital2', run, 0, update(run, 0, 'Hospital2MSP', 100, 2));
    // Hospital3 abandons its first session, then submits.
    const abandoned = await h.call(
      'hospital3',
      'POST',
      `/v1/runs/${run}/rounds/0/updates`,
      update(run, 0, 'Hospital3MSP', 100, 3),
    );
    await h.call(
      'hospital3',
      'DELETE',
      `/v1/submissions/${abandoned.json<{ submissionId: string }>().submissionId}`,
    );
    await h.submit('hospital3', run, 0, update(run, 0, 'Hospital3MSP', 100, 3));
    await waitClosed(h, run, 0);
    // Round 1 closed by hand with two updates; round 2 by all three.
    await h.submit('hospital1', run, 1, update(run, 1, 'Hospital1MSP', 100, 4));
    await h.submit('hospital2', run, 1, update(run, 1, 'Hospital2MSP', 100, 5));
    await h.call('coordinator', 'POST', `/v1/runs/${run}/close`);
    for (const [who, msp, seed] of [
      ['hospital1', 'Hospital1MSP', 6],
      ['hospital2', 'Hospital2MSP', 7],
      ['hospital3', 'Hospital3MSP', 8],
    ] as const) {
      await h.submit(who, run, 2, update(run, 2, msp, 100, seed));
    }
    const last = await waitClosed(h, run, 2);
    // Every read.
    await h.call('auditor', 'GET', `/v1/runs/${run}`);
    await h.call('hospital1', 'GET', `/v1/runs/${run}/rounds/1/model`);
    await h.call('hospital1', 'GET', `/v1/runs/${run}/model`);
    await h.call('auditor', 'GET', `/v1/runs/${run}/metrics`);
    await h.call('hospital1', 'GET', `/v1/blobs/${last.aggregateHash as string}`);
    await h.call('auditor', 'GET', `/v1/audit/runs/${run}/trail`);
    await h.call('auditor', 'GET', `/v1/audit/history?key=update/${run}/0/Hospital1MSP`);
    await h.call('auditor', 'POST', `/v1/audit/runs/${run}/verify`);
    log.push(await eventStreamHead(h, 'auditor'));
    // A secure-aggregation round: keys, share bundles, masked updates and reveals.
    await createSecAggRun(h, 'api-secagg', 1);
    await playSecAggRound(h, 'api-secagg', 0, { submitters: SECAGG_HOSPITALS });
    // Refusals: each is a problem+json reply.
    await h.call('hospital1', 'POST', '/v1/runs', { runId: 'x' });
    await h.call('coordinator', 'POST', '/v1/runs', { runId: 'x', rounds: 3 });
    await h.call('hospital1', 'POST', `/v1/runs/${run}/close`);
    await h.call('auditor', 'GET', '/v1/runs/no-such-run');
    await h.call(null, 'GET', '/v1/runs');
    doc = (await h.call(null, 'GET', '/openapi.json')).json<OpenApiDocument>();
  });
  after(() => h.dispose());

  it('validates every recorded request body against its route’s request schema', function () {
    let checked = 0;
    for (const x of log) {
      const template = templateOf(doc, x.method, x.path);
      expect(template, `${x.method} ${x.path} is documented`).to.be.a('string');
      const op = doc.paths[template as string]?.[x.method] as OpenApiOperation;
      if (x.requestType) {
        expect(op.requestBody?.content, `${x.method} ${x.path}`).to.have.property(x.requestType);
      }
      if (x.requestBody === undefined || x.status >= 400) continue;
      const schema = op.requestBody?.content['application/json']?.schema;
      expect(schema, `${x.method} ${template} documents its JSON body`).to.be.an('object');
      const validate = validator(schema as object);
      expect(
        validate(x.requestBody),
        `${x.method} ${x.path}: ${ajv.errorsText(validate.errors)}`,
      ).to.equal(true);
      checked++;
    }
    expect(checked).to.be.at.least(9);
  });

  it('validates every recorded reply against its route’s reply schema, or the Problem schema', function () {
    const served = new Set<string>();
    for (const x of log) {
      const template = templateOf(doc, x.method, x.path) as string;
      const op = doc.paths[template]?.[x.method] as OpenApiOperation;
      const where = `${x.method} ${x.path} → ${x.status}`;
      if (x.status >= 400) {
        expect(x.contentType, where).to.equal('application/problem+json');
        const validate = validator(doc.components.schemas.Problem);
        const body: unknown = JSON.parse(x.reply.toString('utf8'));
        expect(validate(body), `${where}: ${ajv.errorsText(validate.errors)}`).to.equal(true);
        continue;
      }
      const response = op.responses[String(x.status)];
      expect(response, `${where} is a documented status`).to.be.an('object');
      if (x.status === 204) {
        expect(x.reply.length, `${where} has no body`).to.equal(0);
        expect(response?.content, `${where} documents no body`).to.equal(undefined);
        served.add(`${x.method} ${template}`);
        continue;
      }
      const content = response?.content[x.contentType];
      expect(content, `${where} has the documented media type ${x.contentType}`).to.be.an('object');
      if (x.contentType === 'application/json') {
        const validate = validator(content?.schema as object);
        const body: unknown = JSON.parse(x.reply.toString('utf8'));
        expect(validate(body), `${where}: ${ajv.errorsText(validate.errors)}`).to.equal(true);
      }
      served.add(`${x.method} ${template}`);
    }
    // Every documented operation was exercised with a successful reply.
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect([...served].sort()).to.deep.equal(documented.sort());
  });

  it('refuses a reply with an undocumented field or without a documented one', function () {
    const status = log.find((x) => x.method === 'get' && x.path === '/v1/runs/api-run');
    const schema = doc.paths['/v1/runs/{runId}']?.['get']?.responses['200']?.content[
      'application/json'
    ]?.schema as object;
    const validate = validator(schema);
    const body = JSON.parse((status as Exchange).reply.toString('utf8')) as {
      run: Record<string, unknown>;
      rounds: Record<string, unknown>[];
    };
    expect(validate(body)).to.equal(true);
    expect(validate({ ...body, extra: 1 })).to.equal(false);
    expect(validate({ ...body, run: { ...body.run, secret: 'x' } })).to.equal(false);
    expect(
      validate({ ...body, rounds: body.rounds.map((r) => ({ ...r, submitted: undefined })) }),
    ).to.equal(false);
    const { currentRound: _omitted, ...without } = body as { currentRound?: unknown };
    expect(validate(without)).to.equal(false);
  });
});
