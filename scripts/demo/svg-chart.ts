// Small SVG line charts for reports: no dependencies, deterministic output.

export interface ChartSeries {
  name: string;
  points: { x: number; y: number }[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  yMin?: number;
  yMax?: number;
  formatY?: (y: number) => string;
  /** The x values are counts (rounds, epochs, transactions): ticks only at whole numbers. */
  integerX?: boolean;
  width?: number;
  height?: number;
}

/** Ten hues far enough apart to tell lines apart; series past ten also change their dash. */
export const COLORS = [
  '#1f5fbf',
  '#ea580c',
  '#15803d',
  '#7c3aed',
  '#b91c1c',
  '#0891b2',
  '#db2777',
  '#92400e',
  '#475569',
  '#ca8a04',
] as const;
const DASHES = ['', '7 4', '2 3', '9 3 2 3'] as const;

/** The colour and dash pattern of the i-th series: no two series of a chart share both. */
export function seriesStyle(i: number): { color: string; dash: string } {
  return {
    color: COLORS[i % COLORS.length] ?? '#000',
    dash: DASHES[Math.floor(i / COLORS.length) % DASHES.length] ?? '',
  };
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c,
  );
}

/** A step of 1, 2 or 5 × 10^k that cuts `span` into about `count` intervals. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * magnitude;
}

/**
 * Tick values at multiples of a nice step, covering [min, max]; with `integer`, the step is a
 * whole number (1 at least), for axes that count things.
 */
export function niceTicks(min: number, max: number, count = 5, integer = false): number[] {
  const step = integer
    ? Math.max(1, Math.round(niceStep(max - min, count)))
    : niceStep(max - min, count);
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  // Rounded to the step's precision, so 0.30000000000000004 is drawn and labelled as 0.3.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Array.from({ length: last - first + 1 }, (_, i) =>
    Number(((first + i) * step).toFixed(digits)),
  );
}

/**
 * Renders series as an SVG line chart: title, nice axis ticks, grid, and a legend to the right of
 * the plot so that it never hides a line.
 */
export function lineChartSvg(series: readonly ChartSeries[], options: LineChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 360;
  const legendWidth = Math.min(220, 24 + 7 * Math.max(0, ...series.map((s) => s.name.length)));
  const pad = { l: 64, r: 16 + legendWidth, t: 40, b: 48 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const xTicks =
    xs.length > 0
      ? niceTicks(Math.min(...xs), Math.max(...xs), 10, options.integerX ?? false)
      : [0, 1];
  const yLow = options.yMin ?? (ys.length > 0 ? Math.min(...ys) : 0);
  const yHigh = options.yMax ?? (ys.length > 0 ? Math.max(...ys) : 1);
  const yTicks = niceTicks(yLow, yHigh > yLow ? yHigh : yLow + 1, 5);
  const xMin = xTicks[0] ?? 0;
  const xMax = Math.max(xMin + 1, xTicks[xTicks.length - 1] ?? 1);
  const yMin = yTicks[0] ?? 0;
  const yMax = Math.max(yMin + 1e-9, yTicks[yTicks.length - 1] ?? 1);
  const formatY = options.formatY ?? ((y: number) => String(y));
  const right = width - pad.r;
  const sx = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (right - pad.l);
  const sy = (y: number) =>
    height - pad.b - ((y - yMin) / (yMax - yMin)) * (height - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${(pad.l + right) / 2}" y="22" text-anchor="middle" font-size="15" fill="#1d2430">${escapeXml(options.title)}</text>`,
  ];
  for (const y of yTicks) {
    parts.push(
      `<line x1="${pad.l}" x2="${right}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#e5e9f0"/>`,
      `<text x="${pad.l - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end" fill="#5d6878">${escapeXml(formatY(y))}</text>`,
    );
  }
  for (const x of xTicks) {
    parts.push(
      `<text x="${sx(x).toFixed(1)}" y="${height - pad.b + 16}" text-anchor="middle" fill="#5d6878">${x}</text>`,
    );
  }
  parts.push(
    `<text x="${(pad.l + right) / 2}" y="${height - 10}" text-anchor="middle" fill="#1d2430">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(pad.t + height - pad.b) / 2}) rotate(-90)" text-anchor="middle" fill="#1d2430">${escapeXml(options.yLabel)}</text>`,
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${height - pad.b}" stroke="#5d6878"/>`,
    `<line x1="${pad.l}" x2="${right}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#5d6878"/>`,
  );
  series.forEach((s, i) => {
    const { color, dash } = seriesStyle(i);
    const dashed = dash === '' ? '' : ` stroke-dasharray="${dash}"`;
    const points = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (points.length > 0) {
      const d = points
        .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
        .join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dashed}/>`);
      for (const p of points) {
        parts.push(
          `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`,
        );
      }
    }
    const lx = right + 16;
    const ly = pad.t + 8 + i * 18;
    parts.push(
      `<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`,
      `<text x="${lx + 14}" y="${ly + 1}" fill="#1d2430">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
