// The outbox against a real gateway that goes down and comes back on the same state folder and
// ledger: an undeliverable update is kept and delivered by a later flush; a refused one is removed;
// a delivered one moves to the hospital's record of submitted updates, which export-updates copies
// out for an auditor.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@fedledger/protocol';
import { exportSubmitted, listSubmitted } from '../src/client/submitted';
import { GatewayUnavailableError } from '../src/client/errors';
import { newOutbox } from '../src/client/outbox';
import { GatewayFixture, tinyUpdate } from './gateway-client-fixture';
import { tempDir } from './helpers';

describe('gateway client outbox', function () {
  this.timeout(30_000);
  let f: GatewayFixture;
  before(async () => {
    f = await GatewayFixture.create();
    await f.createRun('outbox-1');
  });
  after(async () => {
    await f.dispose();
  });

  it('keeps an update while the gateway is down and delivers it once a new gateway is up', async () => {
    const workdir = tempDir();
    const lines: string[] = [];
    const client = f.client('hospital1');
    const outbox = newOutbox({
      workdir,
      client,
      signer: f.identity('hospital1').signer,
      log: (line) => lines.push(line),
    });
    const bytes = tinyUpdate('outbox-1', 0, 'Hospital1MSP');
    await f.stop();
    const queued = await outbox.send('outbox-1', 0, bytes);
    expect(queued.status).to.equal('queued');
    if (queued.status === 'queued') expect(queued.error).to.be.instanceOf(GatewayUnavailableError);
    const file = join(workdir, 'outbox', 'outbox-1-0.safetensors');
    expect(existsSync(file)).to.equal(true);
    expect(await outbox.pending()).to.deep.equal([{ runId: 'outbox-1', round: 0, file }]);
    expect(lines.at(-1)).to.match(/not delivered .* kept .*outbox-1-0\.safetensors/);

    // Still down: the flush keeps it.
    expect((await outbox.flush()).map((r) => r.status)).to.deep.equal(['queued']);

    await f.start();
    const [delivered] = await outbox.flush();
    expect(delivered?.status).to.equal('delivered');
    if (delivered?.status === 'delivered') {
      expect(delivered.update.sha256).to.equal(sha256Hex(bytes));
      expect(delivered.update.commit.status).to.equal('VALID');
    }
    expect(existsSync(file)).to.equal(false);
    expect(await outbox.pending()).to.deep.equal([]);
    expect(lines.at(-1)).to.match(
      /delivered run outbox-1 round 0 \(tx \S+, block \d+\); kept a copy in submitted\//,
    );
    const status = await client.getRun('outbox-1');
    expect(status.rounds[0]?.submitted).to.deep.equal(['Hospital1MSP']);

    // The hospital keeps what it put on the ledger and can hand it to an auditor.
    const kept = await listSubmitted(workdir, 'outbox-1');
    expect(kept.map((k) => [k.round, k.mspId, k.sha256])).to.deep.equal([
      [0, 'Hospital1MSP', sha256Hex(bytes)],
    ]);
    const out = join(tempDir(), 'export');
    await exportSubmitted(workdir, 'outbox-1', out);
    expect(sha256Hex(readFileSync(join(out, sha256Hex(bytes))))).to.equal(sha256Hex(bytes));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as unknown[];
    expect(manifest).to.deep.equal([
      {
        runId: 'outbox-1',
        round: 0,
        mspId: 'Hospital1MSP',
        sha256: sha256Hex(bytes),
        byteLength: bytes.byteLength,
      },
    ]);
  });

  it('exports nothing, with a message naming the folder, when no update of the run was kept', async () => {
    const workdir = tempDir();
    let error: unknown;
    await exportSubmitted(workdir, 'outbox-1', join(workdir, 'out')).catch((e: unknown) => {
      error = e;
    });
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(
      /submitted\/outbox-1 holds no update of run outbox-1/,
    );
  });

  it('removes an update the ledger already has (same bytes) or refuses (other bytes)', async () => {
    const workdir = tempDir();
    const lines: string[] = [];
    const outbox = newOutbox({
      workdir,
      client: f.client('hospital1'),
      signer: f.identity('hospital1').signer,
      log: (line) => lines.push(line),
    });
    // The reply to an earlier attempt was lost, but the update is on the ledger.
    const same = await outbox.send('outbox-1', 0, tinyUpdate('outbox-1', 0, 'Hospital1MSP'));
    expect(same.status).to.equal('already-recorded');
    expect(lines.at(-1)).to.match(/already on the ledger/);
    const other = await outbox.send('outbox-1', 0, tinyUpdate('outbox-1', 0, 'Hospital1MSP', 9));
    expect(other.status).to.equal('refused');
    if (other.status === 'refused') expect(other.error.code).to.equal('FL_ERR_UPDATE_EXISTS');
    expect(lines.at(-1)).to.match(/refused for good \(FL_ERR_UPDATE_EXISTS: .*\); removed/);
    const late = await outbox.send('outbox-1', 5, tinyUpdate('outbox-1', 5, 'Hospital1MSP'));
    expect(late.status).to.equal('refused');
    if (late.status === 'refused') expect(late.error.code).to.equal('FL_ERR_ROUND_NOT_OPEN');
    expect(await outbox.pending()).to.deep.equal([]);
  });
});
