/** A small dependency-free SVG bar chart of a benchmark result. */
interface ChartInput {
  baseline: { median: { requestsPerSecond: number; p50Ms: number; p99Ms: number } };
  gateway: { notify: { requestsPerSecond: number; p50Ms: number; p99Ms: number } };
  ratios: { throughput: number; p50: number; p99: number };
  at: string;
}

export function renderChart(r: ChartInput): string {
  const groups = [
    { label: "req/s", b: r.baseline.median.requestsPerSecond, g: r.gateway.notify.requestsPerSecond, ratio: r.ratios.throughput },
    { label: "p50 ms", b: r.baseline.median.p50Ms, g: r.gateway.notify.p50Ms, ratio: r.ratios.p50 },
    { label: "p99 ms", b: r.baseline.median.p99Ms, g: r.gateway.notify.p99Ms, ratio: r.ratios.p99 },
  ];
  const width = 560;
  const height = 260;
  const bars = groups
    .map((group, i) => {
      const max = Math.max(group.b, group.g) || 1;
      const x = 40 + i * 170;
      const bh = (group.b / max) * 150;
      const gh = (group.g / max) * 150;
      return [
        `<rect x="${x}" y="${200 - bh}" width="50" height="${bh}" fill="#9aa5b1"/>`,
        `<rect x="${x + 60}" y="${200 - gh}" width="50" height="${gh}" fill="#f38020"/>`,
        `<text x="${x + 25}" y="${195 - bh}" font-size="11" text-anchor="middle">${group.b}</text>`,
        `<text x="${x + 85}" y="${195 - gh}" font-size="11" text-anchor="middle">${group.g}</text>`,
        `<text x="${x + 55}" y="220" font-size="12" text-anchor="middle">${group.label}</text>`,
        `<text x="${x + 55}" y="238" font-size="11" text-anchor="middle">× ${group.ratio}</text>`,
      ].join("");
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14">TransactionNotify: baseline (grey) vs gateway (orange) — ${r.at}</text>
${bars}
</svg>
`;
}
