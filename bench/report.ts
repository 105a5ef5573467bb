// The benchmark's markdown tables: figures side by side per backend, ratios (ours ÷ each peer),
// goals marked.

interface Rate {
  median: number;
  min: number;
  max: number;
}
type Client = 'kafkajs' | 'librdkafka';
interface Latency {
  runs: number;
  activityMs: { p50: number; p95: number; p99: number };
  workflowMs: { p50: number; p95: number; p99: number };
  attempts?: { max: number; retried: number };
  firstRun: { activityMs: number; workflowMs: number };
}
interface Memory {
  idleMb: number;
  run100kMb: number;
  run1mMb: number;
  ratio1mOver100k: number;
  growth1mOverIdleMb: number;
}
export interface Results {
  when?: string;
  settings?: { events: number; repeats: number; partitions: number; recordBytes: number; listener: string };
  throughput?: Record<string, { eventsPerSec: Rate; cpuSeconds: number }>;
  ratios?: Record<Client, { overPython: number; overFloor: number; overJava: number }>;
  latency?: Partial<Record<Client, Latency>>;
  memory?: Partial<Record<Client, Memory>>;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => `${x.toFixed(1)} ms`;
const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

export const PRODUCER_NAMES: Record<string, string> = {
  ours: 'ours, kafkajs (generate, validate, encode, transaction)',
  'ours-librdkafka': 'ours, librdkafka (generate, validate, encode, transaction)',
  floor: 'bare kafkajs loop (avsc + sendBatch)',
  'floor-librdkafka': 'bare librdkafka loop (avsc + produce, flush)',
  python: "tutorial's Python pattern (confluent-kafka, AvroSerializer per message)",
  java: "Kafka's Java ProducerPerformance",
};

export function toMarkdown(r: Results): string {
  return [...settingsLines(r), ...throughputLines(r), ...latencyLines(r), ...memoryLines(r)].join('\n');
}

function settingsLines(r: Results): string[] {
  const out: string[] = [];
  const s = r.settings;
  if (s) {
    out.push(
      `Run ${r.when}: ${n(s.events)} events per measurement, ${s.repeats} repeats, ${s.partitions} partitions, ` +
        `${s.recordBytes}-byte records, SASL_SSL, acks=all, idempotent, snappy.`,
      '',
    );
  }
  return out;
}

function throughputLines(r: Results): string[] {
  const out: string[] = [];
  const t = r.throughput;
  if (!t) return out;
  const kafkajs = t['ours']?.eventsPerSec.median;
  const rd = t['ours-librdkafka']?.eventsPerSec.median;
  const ratio = (ours: number | undefined, m: number) => (ours === undefined ? '–' : (ours / m).toFixed(2));
  out.push(
    '| producer | events/s (median) | min – max | CPU s | ours (kafkajs) ÷ this | ours (librdkafka) ÷ this |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const [key, v] of Object.entries(t)) {
    const m = v.eventsPerSec.median;
    out.push(
      `| ${PRODUCER_NAMES[key] ?? key} | ${n(m)} | ${n(v.eventsPerSec.min)} – ${n(v.eventsPerSec.max)} | ` +
        `${v.cpuSeconds.toFixed(2)} | ${ratio(kafkajs, m)} | ${ratio(rd, m)} |`,
    );
  }
  out.push('');
  if (r.ratios) {
    const k = r.ratios.kafkajs;
    const l = r.ratios.librdkafka;
    out.push(
      `Goals, ours (librdkafka): ≥ 3× Python: ${l.overPython.toFixed(2)}× (${mark(l.overPython >= 3)}); ` +
        `≥ 1.0× Java: ${l.overJava.toFixed(2)}× (${mark(l.overJava >= 1)}); ` +
        `≥ 90 % of the bare librdkafka loop: ${pct(l.overFloor)} (${mark(l.overFloor >= 0.9)}).`,
      `Ours (kafkajs): ${k.overPython.toFixed(2)}× Python, ${k.overJava.toFixed(2)}× Java, ${pct(k.overFloor)} of the bare kafkajs loop.`,
      '',
    );
  }
  return out;
}

function latencyLines(r: Results): string[] {
  const out: string[] = [];
  const latency = Object.entries(r.latency ?? {}) as [Client, Latency][];
  if (latency.length > 0) {
    const runs = latency[0]![1].runs;
    out.push(
      `| eventCount = 10, ${runs} runs, warm worker | p50 | p95 | p99 | p95 ÷ p50 | runs retried (most attempts) | first run after start |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const [c, l] of latency) {
      const tries = l.attempts ? `${l.attempts.retried} (${l.attempts.max})` : '–';
      const row = (what: string, s: Latency['activityMs'], first: number, retried: string) =>
        `| ${what}, ${c} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${(s.p95 / s.p50).toFixed(2)} | ${retried} | ${ms(first)} |`;
      out.push(
        row('activity start-to-close', l.activityMs, l.firstRun.activityMs, tries),
        row('workflow end-to-end', l.workflowMs, l.firstRun.workflowMs, tries),
      );
    }
    const k = r.latency?.kafkajs;
    const l = r.latency?.librdkafka;
    out.push('');
    if (l) {
      const tail = l.activityMs.p95 / l.activityMs.p50;
      out.push(`Goal: no latency tail on librdkafka, activity p95 ≤ 2× p50: ${tail.toFixed(2)}× (${mark(tail <= 2)}).`);
    }
    if (k) {
      out.push(`Goal: kafkajs activity p50 ≤ 15 ms: ${ms(k.activityMs.p50)} (${mark(k.activityMs.p50 <= 15)}).`);
    }
    out.push('');
  }
  return out;
}

function memoryLines(r: Results): string[] {
  const out: string[] = [];
  const memory = Object.entries(r.memory ?? {}) as [Client, Memory][];
  if (memory.length > 0) {
    out.push(
      '| worker peak RSS (MB) | idle | 100,000-event run | 1,000,000-event run | 1M ÷ 100k | 1M − idle |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const [c, m] of memory) {
      out.push(
        `| ${c} | ${m.idleMb.toFixed(0)} | ${m.run100kMb.toFixed(0)} | ${m.run1mMb.toFixed(0)} | ${m.ratio1mOver100k.toFixed(2)} | ${m.growth1mOverIdleMb.toFixed(0)} |`,
      );
    }
    out.push(
      '',
      `Goal: 1M run ≤ 1.25× the 100k run and ≤ idle + 150 MB: ${memory
        .map(
          ([c, m]) =>
            `${c} ${m.ratio1mOver100k.toFixed(2)}×, +${m.growth1mOverIdleMb.toFixed(0)} MB (${mark(m.ratio1mOver100k <= 1.25 && m.growth1mOverIdleMb <= 150)})`,
        )
        .join('; ')}.`,
      '',
    );
  }
  return out;
}
