/** Small dependency-free SVG charts of the benchmark's results: lines of values against an x axis. */

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Draw x on a log2 scale (concurrency 8, 16, 32, 64). */
  log2X?: boolean;
}

const W = 420;
const H = 260;
const M = { left: 56, right: 16, top: 34, bottom: 44 };

/** One line chart as an SVG group at (x, y). */
function panel(chart: LineChart, ox: number, oy: number): string {
  const xs = chart.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = chart.series.flatMap((s) => s.points.map(([, y]) => y));
  const tx = (x: number) => (chart.log2X ? Math.log2(x) : x);
  const [x0, x1] = [Math.min(...xs.map(tx)), Math.max(...xs.map(tx))];
  const y1 = Math.max(...ys, 1) * 1.1;
  const px = (x: number) => ox + M.left + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (y: number) => oy + H - M.bottom - (y / y1) * (H - M.top - M.bottom);
  const ticksX = [...new Set(xs)].sort((a, b) => a - b);
  const ticksY = [0, 0.25, 0.5, 0.75, 1].map((f) => f * y1);
  const parts: string[] = [];
  parts.push(`<text x="${ox + W / 2}" y="${oy + 18}" font-size="13" text-anchor="middle">${chart.title}</text>`);
  parts.push(`<line x1="${ox + M.left}" y1="${oy + H - M.bottom}" x2="${ox + W - M.right}" y2="${oy + H - M.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${ox + M.left}" y1="${oy + M.top}" x2="${ox + M.left}" y2="${oy + H - M.bottom}" stroke="#333"/>`);
  for (const x of ticksX) parts.push(`<text x="${px(x)}" y="${oy + H - M.bottom + 16}" font-size="10" text-anchor="middle">${x}</text>`);
  for (const y of ticksY) {
    parts.push(`<line x1="${ox + M.left}" y1="${py(y)}" x2="${ox + W - M.right}" y2="${py(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${ox + M.left - 6}" y="${py(y) + 3}" font-size="10" text-anchor="end">${Math.round(y)}</text>`);
  }
  parts.push(`<text x="${ox + W / 2}" y="${oy + H - 8}" font-size="11" text-anchor="middle">${chart.xLabel}</text>`);
  parts.push(`<text x="${ox + 14}" y="${oy + H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 ${ox + 14} ${oy + H / 2})">${chart.yLabel}</text>`);
  chart.series.forEach((s, i) => {
    const path = s.points.map(([x, y], k) => `${k === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [x, y] of s.points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"><title>${s.name}: ${y}</title></circle>`);
    parts.push(`<rect x="${ox + M.left + 10 + i * 110}" y="${oy + M.top - 2}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${ox + M.left + 24 + i * 110}" y="${oy + M.top + 7}" font-size="11">${s.name}</text>`);
  });
  return parts.join("\n");
}

/** Several line charts side by side, under a caption. */
export function renderCharts(caption: string, charts: LineChart[]): string {
  const width = W * charts.length;
  const height = H + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="12" fill="#555">${caption}</text>
${charts.map((c, i) => panel(c, i * W, 24)).join("\n")}
</svg>
`;
}
