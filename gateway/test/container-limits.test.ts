// Containers sized to hurt: limits derived from the run's model spec refuse them before anything
// is allocated for their tensors, and the gateway keeps answering meanwhile.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:https';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunRecord } from '@fedledger/protocol';
import { modelSpecHash, modelTensorShapes, parameterCount } from '@fedledger/protocol';
import { CKKS_PARAMS, slotCount } from '@fedledger/protocol/ckks';
import { CKKS_SLOTS, updateReadLimits } from '@fedledger/rules';
import type { IdentityFiles } from '../src/pki/dev-pki';
import { Harness, SPEC, createRun, update } from '../src/testing';

/**
 * POSTs a file from a process of its own, so that sending 55 MB does not share this process's
 * event loop with the gateway under test. Resolves with the status and body.
 */
function postFromChild(
  h: Harness,
  path: string,
  file: string,
): Promise<{ status: number; body: string }> {
  const id = h.identities['hospital1'] as IdentityFiles;
  const script = `
    const https = require('node:https');
    const fs = require('node:fs');
    const [url, file, cert, key, ca] = process.argv.slice(1);
    const body = fs.readFileSync(file);
    const req = https.request(url, {
      method: 'POST',
      cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(ca),
      headers: { 'content-type': 'application/vnd.fedledger.container', 'content-length': body.length },
    }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body: text })));
    });
    req.on('error', (e) => { process.stderr.write(String(e)); process.exit(1); });
    req.end(body);`;
  const child = spawn(
    process.execPath,
    [
      '-e',
      script,
      new URL(path, h.gateway.url).toString(),
      file,
      id.certPath,
      id.keyPath,
      h.tls.caCertPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as { status: number; body: string })
        : reject(new Error(`uploader exited ${String(code)}: ${err}`)),
    ),
  );
}

/** A safetensors file whose header describes `count` empty tensors (no data at all). */
function emptyTensors(runId: string, count: number): Buffer {
  const metadata = {
    kind: 'update',
    runId,
    round: '0',
    mspId: 'Hospital1MSP',
    sampleCount: '10',
    modelSpecHash: modelSpecHash(SPEC),
    encoding: 'float32',
  };
  const parts = [`{"__metadata__":${JSON.stringify(metadata)}`];
  for (let i = 0; i < count; i++) {
    parts.push(
      `,"t${String(i).padStart(7, '0')}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`,
    );
  }
  parts.push('}');
  const header = Buffer.from(parts.join(''), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header]);
}

describe('container limits from the run model spec', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await Harness.create();
    await createRun(h, 'limits', { roundsPlanned: 1 });
  });
  after(async () => {
    await h.dispose();
  });
  const run = (): RunRecord =>
    ({ settings: { modelSpec: SPEC, encoding: 'float32' } }) as unknown as RunRecord;

  it('knows the slot count of the accepted CKKS parameters', () => {
    expect(CKKS_SLOTS).to.equal(slotCount(CKKS_PARAMS));
  });

  it('refuses a 1,000,000-tensor container with 422 before reading it, RSS growth under 100 MB, /healthz answering (median under 200 ms)', async () => {
    const bytes = emptyTensors('limits', 1_000_000);
    expect(bytes.length).to.be.above(50 * 1024 * 1024);
    const file = join(h.dir, 'million-tensors.safetensors');
    await writeFile(file, bytes);
    // Probes on one kept-alive connection: they time the gateway's answers, not TLS handshakes.
    const auditor = h.identities['auditor'] as IdentityFiles;
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      cert: readFileSync(auditor.certPath),
      key: readFileSync(auditor.keyPath),
      ca: readFileSync(h.tls.caCertPath),
    });
    const healthz = (): Promise<number> =>
      new Promise((resolve, reject) => {
        get(new URL('/healthz', h.gateway.url), { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    expect(await healthz()).to.equal(200);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    let probing = true;
    const latencies: number[] = [];
    const probe = (async () => {
      while (probing) {
        const started = performance.now();
        const status = await healthz();
        latencies.push(performance.now() - started);
        expect(status).to.equal(200);
      }
    })();
    try {
      const reply = await postFromChild(h, '/v1/runs/limits/rounds/0/updates', file);
      expect(reply.status, reply.body).to.equal(422);
      const problem = JSON.parse(reply.body) as { code: string; detail: string };
      expect(problem.code).to.equal('FL_ERR_MALFORMED_CONTAINER');
      expect(problem.detail).to.match(/an update of this run's model \(4 tensors\) needs at most/);
    } finally {
      probing = false;
      await probe;
      clearInterval(sampler);
      agent.destroy();
    }
    const growthMb = (peak - before) / 1024 / 1024;
    const sorted = [...latencies].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Infinity;
    const slowest = sorted[sorted.length - 1] ?? Infinity;
    console.log(
      `      ${latencies.length} /healthz probes during the upload: median ${median.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms; RSS growth ${growthMb.toFixed(1)} MB`,
    );
    // The gateway kept answering all along. The median, not the slowest probe, is asserted: on a
    // shared 2-core machine any single probe can wait for the scheduler.
    expect(latencies.length).to.be.above(5);
    expect(median).to.be.below(200);
    expect(growthMb).to.be.below(100);
  });

  it('refuses a small container that describes more tensors than the spec has', async () => {
    expect(modelTensorShapes(SPEC)).to.have.length(4);
    const reply = await h.call(
      'hospital1',
      'POST',
      '/v1/runs/limits/rounds/0/updates',
      emptyTensors('limits', 50),
    );
    expect(reply.status).to.equal(422);
    expect(reply.json<{ detail: string }>().detail).to.equal(
      'the header describes 50 tensors; at most 4 are accepted',
    );
  });

  it('refuses a body longer than an update of the run model can be, while it streams (413)', async () => {
    // One 1 MiB tensor: few tensors and a small header, but 25,000 times the model's bytes.
    const header = Buffer.from(
      JSON.stringify({ w: { dtype: 'U8', shape: [1 << 20], data_offsets: [0, 1 << 20] } }),
    );
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    const body = Buffer.concat([length, header, Buffer.alloc(1 << 20)]);
    const reply = await h.call('hospital1', 'POST', '/v1/runs/limits/rounds/0/updates', body);
    expect(reply.status).to.equal(413);
    const limit = 8 + updateReadLimits(run()).maxHeaderBytes + 4 * parameterCount(SPEC);
    expect(reply.json<{ detail: string }>().detail).to.equal(
      `the body is larger than the limit of ${limit} bytes`,
    );
  });

  it('still accepts the genuine update afterwards', async () => {
    const reply = await h.submit(
      'hospital1',
      'limits',
      0,
      update('limits', 0, 'Hospital1MSP', 10, 1),
    );
    expect(reply.status, reply.body.toString()).to.equal(200);
  });
});
