import { randomUUID } from 'node:crypto';
import { orderEventsForRun } from '/work/main/src/activities/order-events-source.ts';
import { createApp } from '/work/main/src/app.ts';
import { loadConfig } from '/work/main/src/config/index.ts';
import { createLogger } from '/work/main/src/logger.ts';
import { createEngine } from '/work/main/src/engine/index.ts';
const config = loadConfig();
const lines: any[] = [];
const base = createLogger('info');
const logger = { ...base, info: (m: string, f?: any) => { if (f?.stepsMs) lines.push(f.stepsMs); } , child: () => logger } as any;
let cur: string[] = [];
const runs: string[][] = [];
const t00 = performance.now();
const applog = { ...createLogger('warn'), debug: (m: string) => { if (m.startsWith('librdkafka')) cur.push(`${(performance.now()-t00).toFixed(1)} ${m.slice(0,200)}`); } } as any;
applog.child = () => applog;
const app = createApp(config, { logger: applog });
const engine = createEngine({
  config: { ...config.kafka, subject: config.registry.subject, dlqSubject: config.registry.dlqSubject, transactionRestarts: 2 },
  producer: app.producer, schemaIds: app.schemaIds, orderEventSchema: app.orderEventSchema, deadLetterSchema: app.deadLetterSchema, logger,
});
const n = Number(process.argv[2] ?? 100); const N = Number(process.argv[3] ?? 10);
const totals: number[] = [];
for (let i = 0; i < n; i++) {
  const nominal = Date.now();
  const t0 = performance.now();
  await engine.produceRun({
    identity: { origin: { workflow: `lat-${randomUUID()}` }, nominalTimeMs: nominal },
    params: { eventCount: N },
    events: (first: bigint) => orderEventsForRun(nominal, N, first),
    run: { workflowId: 'lat', runId: 'lat', attempt: 1 },
    transactionTimeoutMs: 60_000,
  });
  totals.push(performance.now() - t0); runs.push(cur); cur = [];
}
const s = [...totals].sort((a, b) => a - b);
console.log('p50', s[Math.floor(n / 2)]!.toFixed(1), 'p95', s[Math.floor(n * 0.95)]!.toFixed(1), 'max', s[n - 1]!.toFixed(1));
totals.forEach((t, i) => { if (t > 2 * s[Math.floor(n / 2)]!) console.log('slow', t.toFixed(1), JSON.stringify(lines[i])); });
const worst = Number(process.env.SHOW ?? totals.indexOf(Math.max(...totals))); console.log(runs[worst]!.join('\n'));
lines.forEach((l) => console.log(JSON.stringify(l)));
await app.close();
