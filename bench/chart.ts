// The benchmark's chart: SVG bars drawn here, rendered to PNG by Debian's headless Chromium.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Results } from './report.ts';

interface Bar {
  label: string;
  value: number;
  min?: number;
  max?: number;
  highlight?: boolean;
}

function panel(title: string, unit: string, bars: Bar[], x0: number): string {
  const w = 380;
  const h = 300;
  const top = Math.max(...bars.map((b) => b.max ?? b.value)) * 1.15 || 1;
  const bw = (w - 40) / bars.length;
  const y = (v: number) => 40 + (h - 90) * (1 - v / top);
  const parts = [
    `<text x="${x0 + w / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${title}</text>`,
    `<line x1="${x0 + 20}" y1="${y(0)}" x2="${x0 + w - 20}" y2="${y(0)}" stroke="#444"/>`,
  ];
  bars.forEach((b, i) => {
    const x = x0 + 25 + i * bw;
    parts.push(
      `<rect x="${x}" y="${y(b.value)}" width="${bw - 10}" height="${y(0) - y(b.value)}" fill="${b.highlight ? '#2f6fdb' : '#9aa5b1'}"/>`,
      `<text x="${x + (bw - 10) / 2}" y="${y(b.value) - 6}" text-anchor="middle" font-size="12">${b.value >= 100 ? Math.round(b.value).toLocaleString('en-US') : b.value.toFixed(1)}</text>`,
      `<text x="${x + (bw - 10) / 2}" y="${y(0) + 16}" text-anchor="middle" font-size="11">${b.label}</text>`,
    );
    if (b.min !== undefined && b.max !== undefined) {
      const cx = x + (bw - 10) / 2;
      parts.push(`<line x1="${cx}" y1="${y(b.min)}" x2="${cx}" y2="${y(b.max)}" stroke="#111" stroke-width="1.5"/>`);
    }
  });
  parts.push(`<text x="${x0 + w / 2}" y="${h + 10}" text-anchor="middle" font-size="12" fill="#555">${unit}</text>`);
  return parts.join('\n');
}

const THROUGHPUT_LABELS: Record<string, string> = {
  ours: 'ours kafkajs',
  'ours-librdkafka': 'ours librdkafka',
  floor: 'bare kafkajs',
  'floor-librdkafka': 'bare librdkafka',
  python: 'tutorial (py)',
  java: 'Java perf',
};

/** The chart's panels, left to right: throughput, run latency, worker memory (those measured). */
function panelsOf(results: Results): string[] {
  const bars: [string, string, Parameters<typeof panel>[2]][] = [];
  const t = results.throughput;
  if (t) {
    bars.push([
      'Throughput',
      'events/s, median with min–max',
      Object.entries(t).map(([k, v]) => ({
        label: THROUGHPUT_LABELS[k] ?? k,
        value: v.eventsPerSec.median,
        min: v.eventsPerSec.min,
        max: v.eventsPerSec.max,
        highlight: k.startsWith('ours'),
      })),
    ]);
  }
  const latency = Object.entries(results.latency ?? {});
  if (latency.length > 0) {
    bars.push([
      'Run latency (10 events)',
      'ms: activity p50 · p95 per backend',
      latency.flatMap(([c, l]) => [
        { label: `${c} p50`, value: l.activityMs.p50, highlight: c === 'librdkafka' },
        { label: `${c} p95`, value: l.activityMs.p95, highlight: c === 'librdkafka' },
      ]),
    ]);
  }
  const memory = Object.entries(results.memory ?? {});
  if (memory.length > 0) {
    bars.push([
      'Worker peak RSS',
      'MB: idle · 1M-event run per backend',
      memory.flatMap(([c, m]) => [
        { label: `${c} idle`, value: m.idleMb },
        { label: `${c} 1M`, value: m.run1mMb, highlight: c === 'librdkafka' },
      ]),
    ]);
  }
  return bars.map(([title, subtitle, values], i) => panel(title, subtitle, values, i * 400));
}

/** Where the chart's browser is (Debian's chromium; `.ci/run` and `npm run setup -- --chart` install it). */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Renders the chart to `file`; without a browser it draws nothing and says why, so the run's
 * figures (already written) are never lost to the chart.
 */
export async function renderChart(results: Results, file: string): Promise<{ written: true } | { skipped: string }> {
  if (!existsSync(CHROMIUM)) {
    return { skipped: `no browser at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH)` };
  }
  try {
    await drawChart(results, file);
    return { written: true };
  } catch (err) {
    return { skipped: `the browser failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

async function drawChart(results: Results, file: string): Promise<void> {
  const panels = panelsOf(results);
  const width = Math.max(panels.length * 400, 400);
  const html = `<html><body style="margin:0;background:#fff;font-family:sans-serif">
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="330">${panels.join('\n')}</svg></body></html>`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height: 330 } });
    await page.setContent(html);
    await page.screenshot({ path: file });
  } finally {
    await browser.close();
  }
}
