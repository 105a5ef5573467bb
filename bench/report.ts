// The benchmark's markdown table: figures and ratios (us ÷ each peer), goals marked.

interface Rate {
  median: number;
  min: number;
  max: number;
}
export interface Results {
  when?: string;
  settings?: { events: number; repeats: number; partitions: number; recordBytes: number; listener: string };
  throughput?: Record<string, { eventsPerSec: Rate; cpuSeconds: number }>;
  ratios?: { oursOverPython: number; oursOverFloor: number; oursOverJava: number };
  latency?: {
    runs: number;
    activityMs: { p50: number; p95: number; p99: number };
    workflowMs: { p50: number; p95: number; p99: number };
    firstRun: { activityMs: number; workflowMs: number };
  };
  memory?: { idleMb: number; run100kMb: number; run1mMb: number; ratio1mOver100k: number; growth1mOverIdleMb: number };
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => `${x.toFixed(1)} ms`;
const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');

export function toMarkdown(r: Results): string {
  const out: string[] = [];
  const s = r.settings;
  if (s) {
    out.push(
      `Run ${r.when}: ${n(s.events)} events per measurement, ${s.repeats} repeats, ${s.partitions} partitions, ` +
        `${s.recordBytes}-byte records, SASL_SSL, acks=all, idempotent, snappy.`,
      '',
    );
  }
  if (r.throughput && r.ratios) {
    const names: Record<string, string> = {
      ours: 'ours (generate, validate, encode, transaction)',
      floor: 'bare floor (avsc + kafkajs sendBatch)',
      python: "tutorial's Python pattern (confluent-kafka, AvroSerializer per message)",
      java: "Kafka's Java ProducerPerformance",
    };
    const ours = r.throughput['ours']!.eventsPerSec.median;
    out.push(
      '| producer | events/s (median) | min – max | CPU s | ours ÷ this |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const [key, t] of Object.entries(r.throughput)) {
      out.push(
        `| ${names[key] ?? key} | ${n(t.eventsPerSec.median)} | ${n(t.eventsPerSec.min)} – ${n(t.eventsPerSec.max)} | ` +
          `${t.cpuSeconds.toFixed(2)} | ${(ours / t.eventsPerSec.median).toFixed(2)} |`,
      );
    }
    out.push(
      '',
      `Goals: ≥ 3× Python: ${r.ratios.oursOverPython.toFixed(2)}× (${mark(r.ratios.oursOverPython >= 3)}); ` +
        `≥ 95 % of the floor: ${(100 * r.ratios.oursOverFloor).toFixed(0)} % (${mark(r.ratios.oursOverFloor >= 0.95)}); ` +
        `≥ 70 % of Java: ${(100 * r.ratios.oursOverJava).toFixed(0)} % (${mark(r.ratios.oursOverJava >= 0.7)}).`,
      '',
    );
  }
  if (r.latency) {
    const l = r.latency;
    out.push(
      `| eventCount = 10, ${l.runs} runs, warm worker | p50 | p95 | p99 | first run after start |`,
      '| --- | ---: | ---: | ---: | ---: |',
      `| activity start-to-close | ${ms(l.activityMs.p50)} | ${ms(l.activityMs.p95)} | ${ms(l.activityMs.p99)} | ${ms(l.firstRun.activityMs)} |`,
      `| workflow end-to-end | ${ms(l.workflowMs.p50)} | ${ms(l.workflowMs.p95)} | ${ms(l.workflowMs.p99)} | ${ms(l.firstRun.workflowMs)} |`,
      '',
      `Goals: activity p50 ≤ 15 ms (${mark(l.activityMs.p50 <= 15)}); workflow p50 ≤ 100 ms (${mark(l.workflowMs.p50 <= 100)}).`,
      '',
    );
  }
  if (r.memory) {
    const m = r.memory;
    out.push(
      '| worker peak RSS | idle | 100,000-event run | 1,000,000-event run |',
      '| --- | ---: | ---: | ---: |',
      `| MB | ${m.idleMb.toFixed(0)} | ${m.run100kMb.toFixed(0)} | ${m.run1mMb.toFixed(0)} |`,
      '',
      `Goals: 1M ≤ 1.25 × 100k: ${m.ratio1mOver100k.toFixed(2)}× (${mark(m.ratio1mOver100k <= 1.25)}); ` +
        `1M ≤ idle + 150 MB: +${m.growth1mOverIdleMb.toFixed(0)} MB (${mark(m.growth1mOverIdleMb <= 150)}).`,
      '',
    );
  }
  return out.join('\n');
}
