// The Rényi-DP accountant against published figures and reference implementations.
import { expect } from 'chai';
import { newRdpAccountant, restoreRdpAccountant } from '../src/dp/accountant';
import { calibrateNoiseMultiplier, planEpsilon } from '../src/dp/calibrate';
import {
  DEFAULT_RDP_ORDERS,
  epsilonFromRdp,
  rdpGaussian,
  rdpSubsampledGaussian,
} from '../src/dp/rdp';
import { logAbsGamma, logErfc } from '../src/dp/special-functions';

/** The orders TF-Privacy's MNIST tutorial used (tutorials/mnist_dpsgd_tutorial.py, 2019). */
const TF_PRIVACY_TUTORIAL_ORDERS = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
];

function dpSgdEpsilon(
  q: number,
  sigma: number,
  steps: number,
  delta: number,
  conversion: 'classic' | 'improved',
  orders = DEFAULT_RDP_ORDERS,
): number {
  const rdp = rdpSubsampledGaussian(q, sigma, orders).map((r) => r * steps);
  return epsilonFromRdp(orders, rdp, delta, conversion).epsilon;
}

function expectWithin(actual: number, expected: number, relative: number): void {
  expect(Math.abs(actual - expected) / expected, `${actual} vs ${expected}`).to.be.at.most(
    relative,
  );
}

describe('RDP accountant', () => {
  describe('published values: TensorFlow Privacy MNIST tutorial (tutorials/README.md)', () => {
    // N = 60000, batch 256 (q = 256/60000), 60000 // 256 = 234 steps per epoch, δ = 1e-5, RDP with
    // the classic conversion of Mironov 2017, which TF-Privacy's get_privacy_spent used then.
    const q = 256 / 60000;
    const cases: [sigma: number, epochs: number, published: number][] = [
      [1.12, 60, 2.92], // README table, first row (default setting) and "after 60 epochs"
      [0.6, 30, 9.74], // README table, second row
      [1.2, 10, 1.2], // README table, third row
      [1.12, 1, 1.0], // README expected output, after 1 epoch
      [1.12, 2, 1.04], // README expected output, after 2 epochs
    ];
    for (const [sigma, epochs, published] of cases) {
      it(`σ = ${sigma}, ${epochs} epochs → ε = ${published} (within 1 %)`, () => {
        const eps = dpSgdEpsilon(
          q,
          sigma,
          epochs * 234,
          1e-5,
          'classic',
          TF_PRIVACY_TUTORIAL_ORDERS,
        );
        console.log(`      ε = ${eps.toFixed(4)} (published ${published})`);
        expectWithin(eps, published, 0.01);
      });
    }
  });

  describe('reference values: Google dp_accounting 0.4 RdpAccountant (improved conversion, default orders)', () => {
    // Computed offline with `pip install dp-accounting`:
    //   acc = dp_accounting.rdp.RdpAccountant()
    //   acc.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    //   acc.get_epsilon(delta)
    const cases: [q: number, sigma: number, steps: number, delta: number, epsilon: number][] = [
      [256 / 60000, 1.1, 14062, 1e-5, 2.5965558697943036],
      [0.01, 1.0, 1000, 1e-5, 2.101366525420273],
      [0.05, 2.0, 500, 1e-6, 3.1018682574376335],
      [1.0, 5.0, 10, 1e-5, 2.8136532471298397],
      [32 / 4000, 0.8, 625, 1e-5, 2.681527508279575],
    ];
    for (const [q, sigma, steps, delta, epsilon] of cases) {
      it(`q = ${q.toFixed(5)}, σ = ${sigma}, ${steps} steps, δ = ${delta} → ε = ${epsilon.toFixed(4)}`, () => {
        expectWithin(dpSgdEpsilon(q, sigma, steps, delta, 'improved'), epsilon, 1e-3);
      });
    }

    it('matches dp_accounting on integer orders of one step (q = 0.01, σ = 1.1)', () => {
      // _compute_rdp_poisson_subsampled_gaussian(0.01, 1.1, [alpha]); its fractional orders are
      // checked against the integral below instead, which they follow less closely than ours.
      const reference: [number, number][] = [
        [2, 0.00012851008160516542],
        [32, 8.469416433675926],
      ];
      const got = rdpSubsampledGaussian(
        0.01,
        1.1,
        reference.map(([a]) => a),
      );
      reference.forEach(([, want], i) => expectWithin(got[i] as number, want, 1e-6));
    });

    it('plain Gaussian mechanism: σ = 1 → ε = 4.7285, σ = 5 → ε = 0.7945 at δ = 1e-5', () => {
      for (const [sigma, want] of [
        [1, 4.728507067217623],
        [5, 0.794522032537103],
      ] as const) {
        const rdp = rdpGaussian(sigma, DEFAULT_RDP_ORDERS);
        expectWithin(epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, 1e-5).epsilon, want, 1e-3);
      }
    });
    it('matches dp_accounting at the sampling rate and noise of DP-SGD at ε = 0.1 and below', () => {
      // RdpAccountant().compose(PoissonSampledDpEvent(32/40000, GaussianDpEvent(sigma)), steps)
      for (const [sigma, steps, want] of [
        [2.969, 62500, 0.2533941852695435],
        [8, 12500, 0.03566674149952623],
      ] as const) {
        expectWithin(dpSgdEpsilon(32 / 40000, sigma, steps, 1e-5, 'improved'), want, 1e-3);
      }
    });
  });

  describe('fractional orders at small sampling rates and large noise', () => {
    // A_α = ∫ N(z; 0, σ²)·((1 − q) + q·exp((2z − 1)/(2σ²)))^α dz by mpmath.quad at 40 digits, so
    // the series of MTZ19 Sec. 3.3 is checked against the integral it expands. (dp_accounting
    // 0.4 gives 3 % more at the first row, 0.25 % more at the fourth and 8 % more at the eighth.)
    const reference: [q: number, sigma: number, alpha: number, rdp: number][] = [
      [0.01, 1.1, 1.5, 9.55452857187483e-5],
      [0.01, 1.1, 2.5, 1.620774093700037e-4],
      [0.01, 1.1, 10.5, 9.672713052295993e-4],
      [0.00064, 2.969, 1.5, 3.69020295946e-8],
      [32 / 40000, 2.969, 1.5, 5.76588451203446e-8],
      [32 / 40000, 2.969, 3.5, 1.34564180237226e-7],
      [32 / 40000, 2.969, 12.5, 4.81018931773384e-7],
      [0.002, 8, 1.1, 3.46439726463163e-8],
      [0.01, 5, 7.3, 1.49283141362064e-5],
    ];
    for (const [q, sigma, alpha, want] of reference) {
      it(`q = ${q}, σ = ${sigma}, α = ${alpha} → ${want.toExponential(4)} (the integral, within 1e-6)`, () => {
        expectWithin(rdpSubsampledGaussian(q, sigma, [alpha])[0] as number, want, 1e-6);
      });
    }

    it('is positive and non-decreasing in the order over the default orders', () => {
      // RDP is non-decreasing in α (Mironov 2017, Prop. 9): a dip or a negative value is a
      // numerical failure that the conversion would turn into a privacy claim never earned. An
      // order whose series does not converge is excluded (Infinity), as dp_accounting does; at
      // the sampling rates of DP-SGD on hospital-sized data every order converges.
      const orders = [...DEFAULT_RDP_ORDERS].sort((a, b) => a - b);
      for (const q of [32 / 50000, 32 / 40000, 0.01, 0.1]) {
        for (const sigma of [0.5, 0.8, 1.1, 3, 5, 8, 20]) {
          let previous = 0;
          rdpSubsampledGaussian(q, sigma, orders).forEach((value, k) => {
            const at = `q = ${q}, σ = ${sigma}, α = ${orders[k]}`;
            if (q <= 0.01) expect(Number.isFinite(value), at).to.equal(true);
            if (!Number.isFinite(value)) return;
            expect(value, at).to.be.greaterThan(0);
            expect(value, at).to.be.at.least(previous * (1 - 1e-9));
            previous = value;
          });
        }
      }
    });
  });

  describe('closed forms', () => {
    it('Gaussian RDP is α / (2σ²), and subsampling with q = 1 gives the same', () => {
      const orders = [1.5, 2, 8, 32];
      expect(rdpGaussian(2, orders)).to.deep.equal(orders.map((a) => a / 8));
      expect(rdpSubsampledGaussian(1, 2, orders)).to.deep.equal(orders.map((a) => a / 8));
    });

    it('classic conversion of the Gaussian mechanism: ε = min_α α/(2σ²) + log(1/δ)/(α − 1)', () => {
      const sigma = 3;
      const orders = [2, 3, 4, 5, 6, 8, 10];
      const want = Math.min(
        ...orders.map((a) => a / (2 * sigma * sigma) + Math.log(1e5) / (a - 1)),
      );
      expect(
        epsilonFromRdp(orders, rdpGaussian(sigma, orders), 1e-5, 'classic').epsilon,
      ).to.be.closeTo(want, 1e-12);
    });

    it('q = 0 costs nothing; σ = 0 costs everything', () => {
      expect(rdpSubsampledGaussian(0, 1, [2, 3])).to.deep.equal([0, 0]);
      expect(rdpSubsampledGaussian(0.1, 0, [2])).to.deep.equal([Infinity]);
    });

    it('special functions: log Γ and log erfc', () => {
      expect(logAbsGamma(5)).to.be.closeTo(Math.log(24), 1e-12);
      expect(logAbsGamma(0.5)).to.be.closeTo(0.5 * Math.log(Math.PI), 1e-12);
      expect(logAbsGamma(-0.5)).to.be.closeTo(Math.log(2 * Math.sqrt(Math.PI)), 1e-12);
      expect(logErfc(0)).to.be.closeTo(0, 1e-15);
      expect(logErfc(1)).to.be.closeTo(Math.log(0.15729920705028513), 1e-13);
      expect(logErfc(-1)).to.be.closeTo(Math.log(1.8427007929497148), 1e-13);
      expect(logErfc(-1.5)).to.be.closeTo(0.6760545027339606, 1e-13);
      expect(logErfc(-3)).to.be.closeTo(0.6931361352504468, 1e-13);
      expect(logErfc(-15)).to.be.closeTo(Math.LN2, 1e-15);
      expect(logErfc(-40)).to.be.closeTo(Math.LN2, 1e-15);
      expect(logErfc(10)).to.be.closeTo(Math.log(2.088487583762545e-45), 1e-10);
      expect(logErfc(40)).to.be.closeTo(-1600 - Math.log(40 * Math.sqrt(Math.PI)) - 1 / 3200, 1e-6);
    });
  });

  describe('composition and state', () => {
    it('composes additively over steps and rounds', () => {
      const a = newRdpAccountant();
      a.compose({
        mechanism: 'subsampled-gaussian',
        samplingRate: 0.01,
        noiseMultiplier: 1.1,
        count: 500,
      });
      a.compose({
        mechanism: 'subsampled-gaussian',
        samplingRate: 0.01,
        noiseMultiplier: 1.1,
        count: 500,
      });
      const b = newRdpAccountant();
      b.compose({
        mechanism: 'subsampled-gaussian',
        samplingRate: 0.01,
        noiseMultiplier: 1.1,
        count: 1000,
      });
      expect(a.epsilon(1e-5).epsilon).to.be.closeTo(b.epsilon(1e-5).epsilon, 1e-9);
      expect(a.epsilon(1e-5).epsilon).to.be.greaterThan(
        newRdpAccountant({
          events: [
            {
              mechanism: 'subsampled-gaussian',
              samplingRate: 0.01,
              noiseMultiplier: 1.1,
              count: 500,
            },
          ],
        }).epsilon(1e-5).epsilon,
      );
    });

    it('survives a JSON round trip', () => {
      const a = newRdpAccountant({ conversion: 'classic' });
      a.compose({ mechanism: 'gaussian', samplingRate: 1, noiseMultiplier: 4, count: 3 });
      const b = restoreRdpAccountant(JSON.parse(JSON.stringify(a.state())));
      expect(b.epsilon(1e-5)).to.deep.equal(a.epsilon(1e-5));
      expect(() => restoreRdpAccountant({ format: 'other' })).to.throw(/fedledger-rdp\/1/);
    });
  });

  describe('calibration', () => {
    it('finds the σ behind a reference ε (σ = 1.1 for ε = 2.5966 on the MNIST schedule)', () => {
      const target = {
        targetEpsilon: 2.5965558697943036,
        delta: 1e-5,
        accountant: 'rdp' as const,
        plan: [
          { mechanism: 'subsampled-gaussian' as const, samplingRate: 256 / 60000, count: 14062 },
        ],
      };
      const sigma = calibrateNoiseMultiplier(target);
      expectWithin(sigma, 1.1, 0.005);
      expect(planEpsilon(target, sigma)).to.be.at.most(target.targetEpsilon);
      expect(planEpsilon(target, sigma * 0.99)).to.be.greaterThan(target.targetEpsilon);
    });

    it('calibrates the plain Gaussian mechanism over rounds (ε = 1, δ = 1e-5, 10 rounds)', () => {
      const target = {
        targetEpsilon: 1,
        delta: 1e-5,
        accountant: 'rdp' as const,
        plan: [{ mechanism: 'gaussian' as const, samplingRate: 1, count: 10 }],
      };
      const sigma = calibrateNoiseMultiplier(target);
      expect(planEpsilon(target, sigma)).to.be.within(0.99, 1);
      console.log(`      σ for ε = 1 over 10 Gaussian releases: ${sigma.toFixed(3)}`);
    });

    it('rejects a non-positive target', () => {
      expect(() => calibrateNoiseMultiplier({ targetEpsilon: 0, delta: 1e-5, plan: [] })).to.throw(
        /positive/,
      );
    });
  });
});
