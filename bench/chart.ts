/**
 * The chart beside bench/results.md: wall time against N for each client, one panel per latency and
 * concurrency that ran at two or more fleet sizes, both axes logarithmic (N spans 100–5000, walls
 * 0.1–30 s). Hand-written SVG: a few lines and labels do not justify a plotting dependency.
 */
import type { ClientKind } from './processes.js';
import { idealMs, KIND_LABELS, type Sample, summarize } from './samples.js';

const COLORS: Readonly<Record<ClientKind, string>> = {
  engine: '#1f77b4',
  cli: '#2ca02c',
  aiohttp: '#d62728',
  fetch: '#ff7f0e',
  undici: '#8c564b',
  'undici-fleet': '#e377c2',
  'tls-floor': '#7f7f7f',
  'node-https': '#bcbd22',
};

const PANEL_W = 520;
const PANEL_H = 340;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 44 };
const LEGEND_H = 22;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, '');
}

/** 1, 2, 5 × powers of ten within [low, high]. */
function ticks(low: number, high: number): number[] {
  const out: number[] = [];
  for (let power = Math.floor(Math.log10(low)); power <= Math.ceil(Math.log10(high)); power += 1) {
    for (const step of [1, 2, 5]) {
      const value = step * 10 ** power;
      if (value >= low && value <= high) out.push(value);
    }
  }
  return out;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

interface Point {
  readonly n: number;
  readonly wallMs: number;
}

function panel(
  title: string,
  lines: readonly { kind: ClientKind | 'ideal'; points: readonly Point[] }[],
  offsetY: number,
): string {
  const all = lines.flatMap((line) => line.points);
  const ns = all.map((p) => p.n);
  const walls = all.map((p) => p.wallMs).filter((w) => w > 0);
  const xLow = Math.min(...ns) / 1.3;
  const xHigh = Math.max(...ns) * 1.3;
  const yLow = Math.min(...walls) / 1.5;
  const yHigh = Math.max(...walls) * 1.5;
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x = (n: number): number =>
    MARGIN.left + ((Math.log(n) - Math.log(xLow)) / (Math.log(xHigh) - Math.log(xLow))) * plotW;
  const y = (ms: number): number =>
    offsetY +
    MARGIN.top +
    plotH -
    ((Math.log(ms) - Math.log(yLow)) / (Math.log(yHigh) - Math.log(yLow))) * plotH;
  const parts: string[] = [
    `<text x="${PANEL_W / 2}" y="${offsetY + 20}" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const value of ticks(yLow, yHigh)) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${PANEL_W - MARGIN.right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${formatMs(value)}</text>`,
    );
  }
  for (const n of [...new Set(ns)].sort((a, b) => a - b)) {
    parts.push(
      `<line x1="${x(n).toFixed(1)}" x2="${x(n).toFixed(1)}" y1="${offsetY + MARGIN.top}" y2="${offsetY + MARGIN.top + plotH}" stroke="#e5e5e5"/>`,
      `<text x="${x(n).toFixed(1)}" y="${offsetY + MARGIN.top + plotH + 16}" text-anchor="middle">${n}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${offsetY + PANEL_H - 8}" text-anchor="middle">sites (N, log scale)</text>`,
    `<text transform="translate(14 ${offsetY + MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">wall time (log scale)</text>`,
  );
  for (const line of lines) {
    const points = [...line.points].filter((p) => p.wallMs > 0).sort((a, b) => a.n - b.n);
    if (points.length === 0) continue;
    const color = line.kind === 'ideal' ? '#bbbbbb' : COLORS[line.kind];
    const path = points.map((p) => `${x(p.n).toFixed(1)},${y(p.wallMs).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"${line.kind === 'ideal' ? ' stroke-dasharray="5 4"' : ''}/>`,
      ...points.map(
        (p) => `<circle cx="${x(p.n).toFixed(1)}" cy="${y(p.wallMs).toFixed(1)}" r="3" fill="${color}"/>`,
      ),
    );
  }
  return parts.join('\n');
}

/** Wall time per client against N (medians where a case repeated); the CLI's includes its process start. */
export function renderChart(samples: readonly Sample[]): string {
  const summaries = summarize(samples);
  const groups = new Map<string, typeof summaries>();
  for (const s of summaries) {
    const key = `${s.benchCase.latencyMs}/${s.benchCase.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const series = [...groups.entries()].filter(
    ([, group]) => new Set(group.map((s) => s.benchCase.n)).size >= 2,
  );
  const kinds = [...new Set(summaries.map((s) => s.kind))];
  const legendRows = Math.ceil((kinds.length + 1) / 3);
  const height = Math.max(1, series.length) * PANEL_H + legendRows * LEGEND_H + 12;
  const parts: string[] = [];
  series.forEach(([key, group], index) => {
    const [latencyMs, concurrency] = key.split('/');
    const lines = kinds.map((kind) => ({
      kind,
      points: group.filter((s) => s.kind === kind).map((s) => ({ n: s.benchCase.n, wallMs: s.wallMs })),
    }));
    const cases = [...new Map(group.map((s) => [s.benchCase.n, s.benchCase])).values()];
    const ideal = { kind: 'ideal' as const, points: cases.map((c) => ({ n: c.n, wallMs: idealMs(c) })) };
    parts.push(
      panel(
        `Wall time against N, L=${latencyMs} ms, C=${concurrency}`,
        [...(Number(latencyMs) > 0 ? [ideal] : []), ...lines],
        index * PANEL_H,
      ),
    );
  });
  if (series.length === 0) {
    parts.push(
      `<text x="${PANEL_W / 2}" y="${PANEL_H / 2}" text-anchor="middle">No latency and concurrency ran at two sizes or more in this run.</text>`,
    );
  }
  const legendTop = Math.max(1, series.length) * PANEL_H + 4;
  [...kinds, 'ideal' as const].forEach((kind, index) => {
    const lx = 16 + (index % 3) * 170;
    const ly = legendTop + Math.floor(index / 3) * LEGEND_H + 12;
    const color = kind === 'ideal' ? '#bbbbbb' : COLORS[kind];
    const label = kind === 'ideal' ? 'ideal ⌈N/C⌉·L' : KIND_LABELS[kind];
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"${kind === 'ideal' ? ' stroke-dasharray="5 4"' : ''}/>`,
      `<text x="${lx + 28}" y="${ly}">${escapeXml(label)}</text>`,
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_W}" height="${height}" viewBox="0 0 ${PANEL_W} ${height}"` +
    ` font-family="sans-serif" font-size="11" role="img">\n` +
    // The chart's own name, for readers that do not see it (and biome's accessibility rule).
    `<title>Push wall time against the number of sites, for each client</title>\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
  );
}
