// The dashboard in a real browser (Debian's Chromium through playwright-core): a gateway on the
// simulated ledger with its read-only dashboard listener, a finished 3-round run; the browser
// presents the auditor's client certificate and the page shows the run's rounds, draws both
// charts and verifies every round from the ledger. Without a certificate the listener serves no
// model bytes; started public, it serves ledger records only.
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { SimulatedLedgerClient, startGateway } from '@fedledger/gateway';
import { Harness, createRun, update, waitClosed } from '@fedledger/gateway/testing';
import { REPO_ROOT } from './support/paths';

const CHROMIUM = '/usr/bin/chromium';
const RUN = 'dashboard-run';
const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;

describe('dashboard (Chromium)', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `the dashboard test needs Chromium at ${CHROMIUM}: install it with ` +
          '"apt-get update && apt-get install -y chromium" (.ci/run does this on Debian)',
      );
    }
    h = await Harness.create();
    // The same gateway again, now with its read-only dashboard listener.
    await h.stop();
    h.gateway = await startGateway({
      ledger: new SimulatedLedgerClient(h.ledger, {
        mspId: 'CoordinatorMSP',
        certificatePem: h.pem('coordinator', 'certPath'),
      }),
      stateDir: join(h.dir, 'state'),
      organisations: h.organisations(),
      tls: h.tls,
      dashboardPort: 0,
    });
    await h.gateway.ready;

    // The hospitals share noised validation accuracy (the run says so), which the chart shows.
    await createRun(h, RUN, { sharedMetrics: { mode: 'noised', noiseMultiplier: 50 } });
    for (let round = 0; round < 3; round++) {
      for (const [i, who] of HOSPITALS.entries()) {
        const msp = `Hospital${i + 1}MSP`;
        const bytes = update(RUN, round, msp, 10 * (i + 1), round * 3 + i, (c) => {
          c.extra['metrics.accuracy'] = String(0.5 + (round * 3 + i) / 100);
          c.extra['metrics.noise_multiplier'] = '50';
        });
        const reply = await h.submit(who, RUN, round, bytes);
        if (reply.status !== 200) throw new Error(`submit: ${reply.body.toString('utf8')}`);
      }
      await waitClosed(h, RUN, round);
    }

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const origin = new URL(h.gateway.dashboardUrl ?? '').origin;
    page = await browser.newPage({
      viewport: { width: 1280, height: 1000 },
      ignoreHTTPSErrors: true,
      clientCertificates: [
        {
          origin,
          certPath: h.identities['auditor']!.certPath,
          keyPath: h.identities['auditor']!.keyPath,
        },
      ],
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    await h?.dispose();
  });

  it('shows the run, its 3 rounds and both charts, and verifies every round', async () => {
    const dashboardUrl = h?.gateway.dashboardUrl;
    expect(dashboardUrl, 'the gateway has a dashboard listener').to.be.a('string');
    await page.goto(dashboardUrl as string);

    await page.locator(`nav button[data-run="${RUN}"]`).click();
    await page.locator('#run-title', { hasText: RUN }).waitFor();
    const rounds = page.locator('#timeline > li');
    await rounds.nth(2).waitFor();
    expect(await rounds.count()).to.equal(3);
    for (const round of [0, 1, 2]) {
      const item = page.locator(`#timeline > li[data-round="${round}"]`);
      expect(await item.getAttribute('class')).to.equal('closed');
      expect(await item.locator('tbody tr').count()).to.equal(3);
      expect(await item.locator('tbody tr td.ok').allTextContents()).to.deep.equal([
        'included',
        'included',
        'included',
      ]);
    }
    expect(await page.locator('#run-summary').textContent()).to.contain('3/3 rounds closed');

    // Accuracy: a line per hospital with a point per round; ε: one line (no DP in this run).
    expect(await page.locator('#chart-accuracy path.series').count()).to.equal(3);
    expect(await page.locator('#chart-accuracy circle').count()).to.equal(9);
    expect(await page.locator('#chart-epsilon circle').count()).to.equal(3);

    await page.locator('#verify').click();
    const verdicts = page.locator('#verify-result li');
    await page.locator('#verify-result p', { hasText: 'every round verified' }).waitFor();
    expect(await verdicts.allTextContents()).to.deep.equal(['✓ round 0', '✓ round 1', '✓ round 2']);
    expect(await page.locator('#verify-result li.ok').count()).to.equal(3);

    const out = join(REPO_ROOT, 'test-output');
    await mkdir(out, { recursive: true });
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
    expect(pageErrors, 'errors in the page').to.deep.equal([]);
  });

  it('refuses model bytes and verify to a caller without a consortium certificate', async () => {
    const dashboard = h!.gateway.dashboardUrl as string;
    expect(dashboard).to.match(/^https:/);
    for (const [method, path] of [
      ['GET', `/v1/runs/${RUN}/rounds/0/model`],
      ['GET', `/v1/runs/${RUN}/model`],
      ['POST', `/v1/audit/runs/${RUN}/verify`],
    ] as const) {
      const reply = await anonymous(dashboard, method, path);
      expect(reply.status, `${method} ${path}`).to.equal(401);
      expect(reply.type).to.match(/^application\/problem\+json/);
    }
  });

  it('started public, serves ledger records to anyone but never model bytes, metrics or verify', async () => {
    await h!.stop();
    h!.gateway = await startGateway({
      ledger: new SimulatedLedgerClient(h!.ledger, {
        mspId: 'CoordinatorMSP',
        certificatePem: h!.pem('coordinator', 'certPath'),
      }),
      stateDir: join(h!.dir, 'state'),
      organisations: h!.organisations(),
      tls: h!.tls,
      dashboardPort: 0,
      dashboardPublic: true,
    });
    await h!.gateway.ready;
    const dashboard = h!.gateway.dashboardUrl as string;
    expect(dashboard).to.match(/^http:/);
    expect((await anonymous(dashboard, 'GET', '/v1/runs')).status).to.equal(200);
    expect((await anonymous(dashboard, 'GET', `/v1/audit/runs/${RUN}/trail`)).status).to.equal(200);
    for (const [method, path] of [
      ['GET', `/v1/runs/${RUN}/rounds/0/model`],
      ['GET', `/v1/runs/${RUN}/model`],
      ['GET', `/v1/runs/${RUN}/metrics`],
      ['GET', `/v1/blobs/${'a'.repeat(64)}`],
      ['POST', `/v1/audit/runs/${RUN}/verify`],
    ] as const) {
      const reply = await anonymous(dashboard, method, path);
      expect(reply.status, `${method} ${path}`).to.equal(403);
    }
  });
});

/** A request with no client certificate (the gateway's own CA is not checked: a test server). */
function anonymous(
  base: string,
  method: 'GET' | 'POST',
  path: string,
): Promise<{ status: number; type: string }> {
  const url = new URL(path, base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
