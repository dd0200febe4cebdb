/**
 * deployed.svg: a rotation's wall time and its Lambda cost against the memory size, one line per fleet size
 * (bench/deployed.ts's points with the DynamoDB ledger).
 */
import { type Point, rotationCost, totalWallMs } from './deployed-report.js';

const W = 460;
const H = 320;
const M = { left: 70, right: 16, top: 34, bottom: 48 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

interface Line {
  readonly label: string;
  readonly points: readonly { x: number; y: number }[];
}

function panel(
  title: string,
  yLabel: string,
  lines: readonly Line[],
  xs: readonly number[],
  offsetX: number,
) {
  const maxY = Math.max(...lines.flatMap((l) => l.points.map((p) => p.y)), 0) * 1.1 || 1;
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const px = (x: number) => offsetX + M.left + ((x - minX) / (maxX - minX || 1)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - (y / maxY) * (H - M.top - M.bottom);
  const parts = [
    `<text x="${offsetX + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>`,
    `<line x1="${offsetX + M.left}" y1="${H - M.bottom}" x2="${offsetX + W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${offsetX + M.left}" y1="${M.top}" x2="${offsetX + M.left}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<text x="${offsetX + W / 2}" y="${H - 8}" text-anchor="middle">memory size (MB)</text>`,
    `<text x="${offsetX + 14}" y="${H / 2}" text-anchor="middle" transform="rotate(-90 ${offsetX + 14} ${H / 2})">${yLabel}</text>`,
  ];
  for (const x of xs) {
    parts.push(
      `<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${x}</text>`,
      `<line x1="${px(x)}" y1="${H - M.bottom}" x2="${px(x)}" y2="${H - M.bottom + 4}" stroke="#333"/>`,
    );
  }
  for (let i = 0; i <= 4; i += 1) {
    const y = (maxY / 1.1) * (i / 4);
    const shown = y >= 1 ? y.toFixed(0) : y.toPrecision(2);
    parts.push(
      `<text x="${offsetX + M.left - 6}" y="${py(y) + 4}" text-anchor="end">${shown}</text>`,
      `<line x1="${offsetX + M.left}" y1="${py(y)}" x2="${offsetX + W - M.right}" y2="${py(y)}" stroke="#ddd"/>`,
    );
  }
  lines.forEach((line, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const path = line.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    for (const p of line.points) {
      parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
    parts.push(
      `<text x="${offsetX + W - M.right - 4}" y="${M.top + 14 + index * 16}" text-anchor="end" fill="${colour}">${line.label}</text>`,
    );
  });
  return parts.join('\n');
}

export function renderDeployedChart(points: readonly Point[]): string {
  const deployed = points.filter((p) => p.ledger === 'dynamodb');
  const xs = [...new Set(deployed.map((p) => p.memoryMb))].sort((a, b) => a - b);
  const sizes = [...new Set(deployed.map((p) => p.sites))].sort((a, b) => a - b);
  const lines = (y: (p: Point) => number): Line[] =>
    sizes.map((n) => ({
      label: `${n.toLocaleString('en-US')} sites`,
      points: deployed
        .filter((p) => p.sites === n)
        .sort((a, b) => a.memoryMb - b.memoryMb)
        .map((p) => ({ x: p.memoryMb, y: y(p) })),
    }));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif" font-size="12">`,
    "<title>A rotation's wall time and Lambda cost against the memory size, one line per fleet size</title>",
    `<rect width="${2 * W}" height="${H}" fill="white"/>`,
    panel(
      'Rotation wall time (4 steps)',
      'seconds',
      lines((p) => totalWallMs(p) / 1000),
      xs,
      0,
    ),
    panel('Lambda cost of one rotation', 'USD', lines(rotationCost), xs, W),
    '</svg>',
    '',
  ].join('\n');
}
