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
  width?: number;
  height?: number;
}

const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed', '#0f766e', '#be185d'];

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c,
  );
}

/** Renders series as an SVG line chart with axes, grid, legend and title. */
export function lineChartSvg(series: readonly ChartSeries[], options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const pad = { l: 64, r: 16, t: 40, b: 48 };
  const all = series.flatMap((s) => s.points);
  const xMin = Math.min(0, ...all.map((p) => p.x));
  const xMax = Math.max(xMin + 1, ...all.map((p) => p.x));
  const yMin = options.yMin ?? Math.min(...all.map((p) => p.y));
  const rawMax = options.yMax ?? Math.max(...all.map((p) => p.y));
  const yMax = rawMax > yMin ? rawMax : yMin + 1;
  const formatY = options.formatY ?? ((y: number) => y.toPrecision(3));
  const sx = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (width - pad.l - pad.r);
  const sy = (y: number) =>
    height - pad.b - ((y - yMin) / (yMax - yMin)) * (height - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" fill="#1d2430">${escapeXml(options.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = yMin + ((yMax - yMin) * i) / 5;
    parts.push(
      `<line x1="${pad.l}" x2="${width - pad.r}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#e5e9f0"/>`,
      `<text x="${pad.l - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end" fill="#5d6878">${escapeXml(formatY(y))}</text>`,
    );
  }
  const xTicks = Math.min(10, Math.round(xMax - xMin));
  for (let i = 0; i <= xTicks; i++) {
    const x = xMin + ((xMax - xMin) * i) / Math.max(1, xTicks);
    parts.push(
      `<text x="${sx(x).toFixed(1)}" y="${height - pad.b + 16}" text-anchor="middle" fill="#5d6878">${Number.isInteger(x) ? x : x.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<text x="${(pad.l + width - pad.r) / 2}" y="${height - 10}" text-anchor="middle" fill="#1d2430">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(pad.t + height - pad.b) / 2}) rotate(-90)" text-anchor="middle" fill="#1d2430">${escapeXml(options.yLabel)}</text>`,
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${height - pad.b}" stroke="#5d6878"/>`,
    `<line x1="${pad.l}" x2="${width - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#5d6878"/>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const points = [...s.points].sort((a, b) => a.x - b.x);
    if (points.length > 0) {
      const d = points
        .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
        .join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const p of points) {
        parts.push(
          `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`,
        );
      }
    }
    const lx = pad.l + 8 + (i % 3) * 170;
    const ly = pad.t + 4 + Math.floor(i / 3) * 16;
    parts.push(
      `<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`,
      `<text x="${lx + 14}" y="${ly + 1}" fill="#1d2430">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
