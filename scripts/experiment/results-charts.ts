// The experiment's charts: Fig. 2 (accuracy against ε, with the study's points, one set of lines
// per protection mode) and the pooled validation accuracy against local epochs per arm.
import type { ChartSeries } from '../demo/svg-chart';
import { lineChartSvg } from '../demo/svg-chart';
import type { Protection } from './cells';
import { armLabel, armProtection } from './cells';
import type { MeanSd } from './mean-sd';
import { meanSd } from './mean-sd';
import { STUDY_ACCURACY } from './reference-study';
import type { ArmSummary } from './results-report';
import { modesOf } from './results-protection';

/** Fig. 2: accuracy, balanced accuracy and majority rate of the DP arms against ε, per mode. */
export function accuracyByEpsilonSvg(summaries: readonly ArmSummary[], study: boolean): string {
  const dp = summaries.filter((s) => s.arm.kind === 'federated-dp' && s.accuracy.n > 0);
  const modes = modesOf(dp);
  const line = (
    name: string,
    pick: (s: ArmSummary) => MeanSd | undefined,
    mode: Protection | undefined = modes[0],
  ): ChartSeries => ({
    // Plaintext alone keeps the names it always had; otherwise each line names its mode.
    name: modes.length === 1 && mode === 'plaintext' ? name : `${name} [${String(mode)}]`,
    points: dp
      .filter((s) => armProtection(s.arm) === mode)
      .flatMap((s) => {
        const m = pick(s);
        return m && m.n > 0 ? [{ x: s.arm.epsilon ?? 0, y: m.mean }] : [];
      }),
  });
  const series: ChartSeries[] = [
    ...modes.flatMap((mode) => [
      line('accuracy (mean over repeats)', (s) => s.accuracy, mode),
      line('balanced accuracy', (s) => s.balancedAccuracy, mode),
    ]),
    // The same test split for every mode: one majority line.
    {
      ...line('majority-class rate (always predicting it)', (s) => s.majorityRate),
      name: 'majority-class rate (always predicting it)',
    },
    ...(study
      ? [
          {
            name: 'study accuracy',
            points: [...STUDY_ACCURACY.byEpsilon].map(([x, y]) => ({ x, y })),
          },
        ]
      : []),
  ].filter((s) => s.points.length > 0);
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  return lineChartSvg(series, {
    title: 'Fig. 2: accuracy, balanced accuracy and majority rate of federated + DP-SGD against ε',
    xLabel: 'ε (whole run)',
    yLabel: 'pooled test accuracy',
    yMin: Math.max(0, Math.floor(Math.min(...ys) * 20) / 20),
    yMax: Math.min(1, Math.ceil(Math.max(...ys) * 20) / 20),
    formatY: (y) => `${(y * 100).toFixed(0)}%`,
  });
}

/** Pooled validation accuracy against local epochs, one line per arm. */
export function convergenceSvg(summaries: readonly ArmSummary[]): string {
  const series: ChartSeries[] = summaries
    .filter((s) => s.cells.length > 0)
    .map((s) => {
      const per = s.cells[0]?.epochsPerPoint ?? 1;
      const length = Math.min(...s.cells.map((c) => c.validationAccuracy.length));
      return {
        name: armLabel(s.arm),
        points: Array.from({ length }, (_, i) => ({
          x: (i + 1) * per,
          y: meanSd(s.cells.map((c) => c.validationAccuracy[i] ?? NaN)).mean,
        })),
      };
    });
  return lineChartSvg(series, {
    title: 'Pooled validation accuracy against local epochs (mean over repeats)',
    xLabel: 'local epochs (federated: rounds × epochs per round)',
    yLabel: 'validation accuracy',
    integerX: true,
    formatY: (y) => `${(y * 100).toFixed(0)}%`,
  });
}
