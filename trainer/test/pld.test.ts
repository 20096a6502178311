// The PLD accountant against reference values, its pessimism, and PLD calibration.
import { expect } from 'chai';
import { calibrateNoiseMultiplier, planEpsilon } from '../src/dp/calibrate';
import { deltaForEpsilon, epsilonForDelta, selfComposePld } from '../src/dp/pld';
import { pldEpsilon } from '../src/dp/pld-accountant';
import { connectTheDots, subsampledGaussianPair } from '../src/dp/pld-gaussian';
import { newPrivacyAccountant, restorePrivacyAccountant } from '../src/dp/privacy-accountant';

/**
 * q, σ, steps, δ, then ε by Google's dp_accounting 0.6.0 (PLDAccountant, connect-the-dots,
 * value_discretization_interval 1e-4), by its RdpAccountant, and Opacus 1.6.0's PRV accountant
 * (eps_error 0.01: lower bound, estimate, upper bound). Produced by
 *   python3 -m venv /tmp/venv-dp
 *   /tmp/venv-dp/bin/pip install dp-accounting==0.6.0 && /tmp/venv-dp/bin/pip install --no-deps opacus==1.6.0
 *   /tmp/venv-dp/bin/python scripts/dp-reference/pld_reference.py
 * The first four are the demo's settings (40,000 training rows, batch 32, 5 epochs × 10 rounds)
 * and the experiment's quick look (8,000 rows, 2 epochs × 5 rounds) at the σ RDP calibrates for
 * ε = 1 and ε = 5.
 */
const REFERENCE: [number, number, number, number, number, number, number, number, number][] = [
  [
    0.0008, 1.063232421875, 62500, 1e-5, 0.8920510241078812, 0.9999446026110783, 0.8811332083321826,
    0.891193917994744, 0.9012546850908237,
  ],
  [
    0.0008, 0.587188720703125, 62500, 1e-5, 4.217221730852623, 5.000064116144439, 4.206629048273153,
    4.216952103656403, 4.227275483232627,
  ],
  [
    0.004, 1.13494873046875, 2500, 1e-5, 0.8382271778799462, 0.9999657350240763, 0.8281379726593622,
    0.8381986427913724, 0.8482593707395296,
  ],
  [
    0.004, 0.6260986328125, 2500, 1e-5, 4.131829469596781, 4.9999361929705834, 4.121454846571242,
    4.1318213478847925, 4.142188213389926,
  ],
  [
    0.004266666666666667, 1.1, 14062, 1e-5, 2.381686002234784, 2.5965558697943036, 2.37145549890257,
    2.3815995284343763, 2.391743695945225,
  ],
  [
    0.01, 1.0, 1000, 1e-5, 1.8282436455855091, 2.101366525420273, 1.8181076373365206,
    1.828239574994156, 1.838371637017295,
  ],
  [
    0.05, 2.0, 500, 1e-6, 2.8726290040505145, 3.1018682574376335, 2.8624870626833143,
    2.872628193280184, 2.882769459076149,
  ],
  [
    1.0, 5.0, 10, 1e-5, 2.594383385595596, 2.8136532471298397, 2.584235974215271,
    2.5943861861555573, 2.604536375535605,
  ],
];

describe('PLD accountant', function () {
  this.timeout(60_000);

  describe('reference values: dp_accounting PLD and Opacus PRV', () => {
    for (const [q, sigma, steps, delta, pld, rdp, prvLow, prvEstimate, prvHigh] of REFERENCE) {
      it(`q = ${q.toFixed(5)}, σ = ${sigma.toFixed(4)}, ${steps} steps, δ = ${delta} → ε = ${pld.toFixed(4)}`, () => {
        const eps = pldEpsilon(
          [
            {
              mechanism: q === 1 ? 'gaussian' : 'subsampled-gaussian',
              samplingRate: q,
              noiseMultiplier: sigma,
              count: steps,
            },
          ],
          delta,
        );
        // Within 1 % of dp_accounting's PLD, and never more than 0.5 % below it.
        expect(Math.abs(eps - pld) / pld, `${eps} vs ${pld}`).to.be.at.most(0.01);
        expect(eps, `${eps} vs ${pld}`).to.be.at.least(pld * 0.995);
        // Inside Opacus' PRV bounds (its own error bars of ±0.01), near its estimate.
        expect(eps).to.be.within(prvLow, prvHigh);
        expect(Math.abs(eps - prvEstimate) / prvEstimate).to.be.at.most(0.01);
        // Tighter than RDP, the accountant it replaces.
        expect(eps).to.be.below(rdp);
      });
    }
  });

  describe('pessimism', () => {
    it('connect-the-dots matches the exact hockey-stick curve on its grid and lies above it between', () => {
      for (const direction of ['remove', 'add'] as const) {
        const pair = subsampledGaussianPair(0.01, 0.8, direction);
        const pld = connectTheDots(pair, 1e-3);
        for (const eps of [0, 0.1, 0.25, 0.5, 1, 2]) {
          const onGrid = deltaForEpsilon(pld, eps);
          expect(onGrid, `${direction} ε = ${eps}`).to.be.closeTo(pair.delta(eps), 1e-9);
          const between = eps + 4e-4;
          expect(deltaForEpsilon(pld, between)).to.be.at.least(pair.delta(between) - 1e-12);
        }
      }
    });

    it('ε for δ inverts δ for ε, and a coarser grid only ever reads higher', () => {
      const step = connectTheDots(subsampledGaussianPair(0.02, 1.2, 'remove'), 1e-4);
      const composed = selfComposePld(step, 300);
      const eps = epsilonForDelta(composed, 1e-5);
      expect(deltaForEpsilon(composed, eps)).to.be.closeTo(1e-5, 1e-9);
      const event = {
        mechanism: 'subsampled-gaussian' as const,
        samplingRate: 0.02,
        noiseMultiplier: 1.2,
        count: 300,
      };
      expect(pldEpsilon([event], 1e-5, { interval: 1e-3 })).to.be.at.least(
        pldEpsilon([event], 1e-5),
      );
    });
  });

  describe('calibration with PLD', () => {
    it("meets ε = 1 at the demo's settings with a smaller σ than RDP's", () => {
      // The demo: 40,000 training rows, batch 32, 5 epochs × 10 rounds, δ = 1e-5.
      const plan = [
        { mechanism: 'subsampled-gaussian' as const, samplingRate: 32 / 40000, count: 62500 },
      ];
      const target = { targetEpsilon: 1, delta: 1e-5, plan };
      const pldSigma = calibrateNoiseMultiplier(target);
      const rdpSigma = calibrateNoiseMultiplier({ ...target, accountant: 'rdp' });
      console.log(`      σ for ε = 1: PLD ${pldSigma.toFixed(4)}, RDP ${rdpSigma.toFixed(4)}`);
      expect(planEpsilon(target, pldSigma)).to.be.at.most(1);
      expect(planEpsilon(target, pldSigma)).to.be.at.least(0.99);
      expect(pldSigma).to.be.below(rdpSigma * 0.97);
      // RDP, the cross-check, would report more than the target at PLD's σ.
      expect(planEpsilon({ ...target, accountant: 'rdp' }, pldSigma)).to.be.greaterThan(1);
    });

    it('counts fixed releases (noised metrics) into the plan', () => {
      const plan = [{ mechanism: 'gaussian' as const, samplingRate: 1, count: 10 }];
      const alone = calibrateNoiseMultiplier({ targetEpsilon: 2, delta: 1e-5, plan });
      const fixed = [
        { mechanism: 'gaussian' as const, samplingRate: 1, noiseMultiplier: 20, count: 10 },
      ];
      const withMetrics = calibrateNoiseMultiplier({ targetEpsilon: 2, delta: 1e-5, plan, fixed });
      expect(withMetrics).to.be.greaterThan(alone);
      expect(
        planEpsilon({ targetEpsilon: 2, delta: 1e-5, plan, fixed }, withMetrics),
      ).to.be.at.most(2);
    });
  });

  describe('the accountant a hospital keeps', () => {
    it('reports both methods, saves its history and restores it (also an RDP-only state)', () => {
      const a = newPrivacyAccountant();
      a.compose({ mechanism: 'gaussian', samplingRate: 1, noiseMultiplier: 5, count: 10 });
      const both = a.epsilons(1e-5);
      expect(a.epsilon(1e-5)).to.equal(both.pld);
      expect(both.pld).to.be.closeTo(2.594383385595596, 0.01);
      expect(both.rdp).to.be.closeTo(2.8136532471298397, 1e-6);
      const b = restorePrivacyAccountant(JSON.parse(JSON.stringify(a.state())));
      expect(b.epsilon(1e-5)).to.equal(a.epsilon(1e-5));
      const legacy = restorePrivacyAccountant({
        format: 'fedledger-rdp/1',
        orders: [2],
        conversion: 'improved',
        events: a.events(),
      });
      expect(legacy.kind).to.equal('rdp');
      expect(legacy.epsilon(1e-5)).to.equal(both.rdp);
      expect(() => restorePrivacyAccountant({ format: 'other' })).to.throw(/fedledger-privacy\/1/);
    });
  });
});
