// The benchmark's Debezium peer: Debezium 3.6.1's PostgreSQL connector (pgoutput) with its outbox
// EventRouter, in Kafka Connect 4.4.0 standalone, against the stack's PostgreSQL and plaintext broker.
// The jars come from bench/peers/debezium/fetch.sh (Maven Central, cached; with a one-class shim,
// as Debezium 3.6.x calls a Kafka class that 4.4.0 moved: see debezium/shim). One Connect JVM per
// peer, detached, logging to workDir/connect.log, its pid in workDir/connect.pid, its offsets in
// workDir/offsets.dat (kept across kill()/restart(), as a crashed and restarted worker keeps them).
//
// What is set, and why (everything latency-related is left at Connect's and Debezium's defaults:
// poll.interval.ms 500, max.batch.size 2048, max.queue.size 8192, status.update.interval.ms 10000,
// lsn.flush.mode=connector, extended.headers.enabled=true (the __debezium.context.* headers on
// every record); the worker's producer as Connect sets it: acks=all, enable.idempotence=false,
// max.in.flight.requests.per.connection=1, linger.ms 5 (the client's default); and
// offset.flush.interval.ms 60000 - WorkerConfig's default. Kafka's sample
// config/connect-standalone.properties sets 10000, which is not the default: pass
// worker: { 'offset.flush.interval.ms': 10000 } for that. The interval bounds what a kill -9
// replays: offsets (and the slot's confirmed LSN, which Debezium flushes only on Connect's offset
// commit) stand still between commits, so a restart re-sends everything since the last one):
//   worker:    bootstrap.servers (the plaintext broker); offset.storage.file.filename (standalone
//              needs one; in workDir); listeners (a free port per start, so peers and the user's
//              processes never collide on 8083); plugin.discovery=service_load (Connect's own advice
//              at start, "All plugins have ServiceLoader manifests": the default hybrid_warn also
//              scans the classpath by reflection, ~6 s of every start and restart on this machine,
//              nothing after); key/value.converter JsonConverter with
//              schemas.enable=false (plain JSON: no schema envelope in every record, no registry);
//              headers keep Connect's SimpleHeaderConverter (the router's `id` header is "123").
//   connector: plugin.name=pgoutput (Debezium's default is decoderbufs, not installed here);
//              slot.name/publication.name dbz_<name>; publication.autocreate.mode=filtered (a
//              publication for this table only); table.include.list; snapshot.mode=no_data (stream
//              only: 3.x's name for the old `never`); topic.prefix (required; the router renames the
//              topic anyway); tasks.max=1 (one slot, one task); message.prefix.exclude.list=.*
//              (required here: pgoutput gives every slot the database's logical decoding messages,
//              which our relay's heartbeat emits; see connectorProperties).
//   router:    id -> the `id` header (the router always adds it), order_id -> the record key,
//              customer_id -> the payload, the other columns -> the envelope; route.by.field is
//              order_status, a text column that must not be null (the router routes on its value
//              with a RegexRouter, which fails on a null topic), and route.topic.replacement the
//              fixed topic (no ${routedByValue} in it, so every row goes to it).
//   JVM:       connect-standalone.sh's heap (-Xms256M -Xmx2G) and kafka-run-class.sh's GC flags,
//              so the worker runs as Kafka's own scripts would start it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

export interface DebeziumOptions {
  postgresUrl: string;
  brokers: string;
  /** schema.table, e.g. public.order_outbox_bench */
  table: string;
  topic: string;
  /** Unique: names the connector, the slot and publication (dbz_<name>) and nothing else. */
  name: string;
  workDir: string;
  /**
   * Columns placed in the envelope next to the payload (default: order_status, order_total, created_at).
   * Not txid: Debezium has no converter for xid8 and leaves the column out of its events (a WARN at start).
   */
  envelopeFields?: string[];
  /** Bound on each start's wait for RUNNING and an active slot (default 120 s). */
  startTimeoutMs?: number;
  /** Worker settings set last, over the ones below (e.g. { 'offset.flush.interval.ms': 10000 }). */
  worker?: Record<string, string | number>;
  /** Connector (and router: transforms.outbox.*) settings set last. */
  connector?: Record<string, string | number>;
}

/** One start of the JVM, in ms from spawn. */
export interface StartTimings {
  restUpMs: number;
  runningMs: number;
  slotActiveMs: number;
}

export interface DebeziumPeer {
  pid: number;
  topic: string;
  slot: string;
  publication: string;
  logFile: string;
  /** Every start so far (the first, then one per restart()). */
  starts: StartTimings[];
  /** After each kill(): how long the slot stayed active once the JVM was gone. */
  slotReleasedMs: number[];
  /** kill -9 by pid; resolves once the JVM has exited and the slot is no longer active. */
  kill(): Promise<void>;
  /** Starts the JVM again with the same offsets file; resolves once RUNNING with the slot active. */
  restart(): Promise<void>;
  /** SIGTERM, wait (SIGKILL after 30 s), then drop its slot and publication. */
  stop(): Promise<void>;
  /** The connector's and its task's state from the REST API (undefined while it is not up). */
  status(): Promise<{ connector?: string; task?: string; trace?: string } | undefined>;
}

const execFileP = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const DEFAULT_ENVELOPE = ['order_status', 'order_total', 'created_at'];
const JVM_OPTS = [
  '-Xms256M',
  '-Xmx2G',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
];
const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
`;

/** The libs dir, fetched on first use (idempotent; a no-op once cached). */
export async function debeziumLibs(): Promise<string> {
  const { stdout } = await execFileP('bash', [join(here, 'debezium', 'fetch.sh')], { maxBuffer: 1 << 20 });
  const libs = stdout.trim().split('\n').pop();
  if (!libs) throw new Error('bench/peers/debezium/fetch.sh printed no libs dir');
  return libs;
}

/** dbz_<name>, as a PostgreSQL identifier (lower case, [a-z0-9_], at most 63 characters). */
export function dbzName(name: string): string {
  return `dbz_${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A .properties file: backslashes and line breaks escaped in values. */
function properties(entries: Record<string, string | number>): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/^\s/, '\\$&');
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${esc(String(v))}`)
    .join('\n')
    .concat('\n');
}

function workerProperties(o: DebeziumOptions, port: number): Record<string, string | number> {
  return {
    'bootstrap.servers': o.brokers,
    'offset.storage.file.filename': join(o.workDir, 'offsets.dat'),
    listeners: `http://127.0.0.1:${port}`,
    'plugin.discovery': 'service_load',
    'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable': 'false',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
    ...o.worker,
  };
}

function connectorProperties(o: DebeziumOptions): Record<string, string | number> {
  const url = new URL(o.postgresUrl);
  const envelope = (o.envelopeFields ?? DEFAULT_ENVELOPE).map((f) => `${f}:envelope:${f}`).join(',');
  return {
    name: o.name,
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': 1,
    'database.hostname': url.hostname,
    'database.port': url.port || 5432,
    'database.user': decodeURIComponent(url.username),
    'database.password': decodeURIComponent(url.password),
    'database.dbname': decodeURIComponent(url.pathname.replace(/^\//, '')),
    'plugin.name': 'pgoutput',
    'slot.name': dbzName(o.name),
    'publication.name': dbzName(o.name),
    'publication.autocreate.mode': 'filtered',
    'table.include.list': o.table,
    // pgoutput hands every slot the database's logical decoding messages, whatever the publication
    // (our relay's heartbeat emits one): Debezium would route them, past the router, to
    // <topic.prefix>.message, a topic the broker does not auto-create, and stall its producer.
    'message.prefix.exclude.list': '.*',
    'snapshot.mode': 'no_data',
    'topic.prefix': dbzName(o.name),
    transforms: 'outbox',
    'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.table.field.event.id': 'id',
    'transforms.outbox.table.field.event.key': 'order_id',
    'transforms.outbox.table.field.event.payload': 'customer_id',
    'transforms.outbox.table.fields.additional.placement': envelope,
    'transforms.outbox.route.by.field': 'order_status',
    'transforms.outbox.route.topic.replacement': o.topic,
    ...o.connector,
  };
}

interface Jvm {
  child: ChildProcess;
  exited: Promise<void>;
  port: number;
  spawnedAt: number;
}

async function launch(o: DebeziumOptions, libs: string): Promise<Jvm> {
  const port = await freePort();
  const worker = join(o.workDir, 'worker.properties');
  const connector = join(o.workDir, 'connector.properties');
  writeFileSync(worker, properties(workerProperties(o, port)));
  writeFileSync(connector, properties(connectorProperties(o)), { mode: 0o600 });
  writeFileSync(join(o.workDir, 'log4j2.properties'), LOG4J2);
  const log = openSync(join(o.workDir, 'connect.log'), 'a');
  const args = [
    ...JVM_OPTS,
    `-Dlog4j2.configurationFile=${join(o.workDir, 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
    'org.apache.kafka.connect.cli.ConnectStandalone',
    worker,
    connector,
  ];
  const spawnedAt = Date.now();
  const child = spawn('java', args, { cwd: o.workDir, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve()); // java not found: no pid, reported below
  });
  // Detached (its own process group: a Ctrl-C to ours does not reach it), but not left behind
  // when this process exits.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));
  if (child.pid === undefined) throw new Error(`java did not start (see ${join(o.workDir, 'connect.log')})`);
  writeFileSync(join(o.workDir, 'connect.pid'), `${child.pid}\n`);
  return { child, exited, port, spawnedAt };
}

interface ConnectorStatus {
  connector?: { state?: string; trace?: string };
  tasks?: { state?: string; trace?: string }[];
}

async function connectorStatus(port: number, name: string): Promise<ConnectorStatus | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/connectors/${encodeURIComponent(name)}/status`);
    return res.ok ? ((await res.json()) as ConnectorStatus) : {};
  } catch {
    return undefined; // the REST server is not listening yet
  }
}

async function slotActive(db: pg.Pool, slot: string): Promise<boolean> {
  const { rows } = await db.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
    slot,
  ]);
  return rows[0]?.active === true;
}

/** Waits for the REST API, the connector and its task RUNNING, then the slot active. */
async function awaitRunning(o: DebeziumOptions, jvm: Jvm, db: pg.Pool): Promise<StartTimings> {
  const deadline = jvm.spawnedAt + (o.startTimeoutMs ?? 120_000);
  const log = join(o.workDir, 'connect.log');
  let exited = false;
  void jvm.exited.then(() => (exited = true));
  const t: Partial<StartTimings> = {};
  while (t.slotActiveMs === undefined) {
    if (exited) throw new Error(`Connect exited during start (see ${log})`);
    if (Date.now() > deadline) throw new Error(`Connect not RUNNING with an active slot in time (see ${log})`);
    const status = await connectorStatus(jvm.port, o.name);
    if (status && t.restUpMs === undefined) t.restUpMs = Date.now() - jvm.spawnedAt;
    const task = status?.tasks?.[0];
    if (status?.connector?.state === 'FAILED' || task?.state === 'FAILED') {
      throw new Error(`Debezium FAILED: ${task?.trace ?? status?.connector?.trace ?? '?'} (see ${log})`);
    }
    if (t.runningMs === undefined && status?.connector?.state === 'RUNNING' && task?.state === 'RUNNING') {
      t.runningMs = Date.now() - jvm.spawnedAt;
    }
    if (t.runningMs !== undefined && (await slotActive(db, dbzName(o.name)))) {
      t.slotActiveMs = Date.now() - jvm.spawnedAt;
      break;
    }
    await sleep(100);
  }
  return t as StartTimings;
}

/** Waits until no walsender holds the slot (after the JVM is gone); returns how long that took. */
async function awaitSlotReleased(db: pg.Pool, slot: string, timeoutMs = 60_000): Promise<number> {
  const t0 = Date.now();
  while (await slotActive(db, slot)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`slot ${slot} still active ${timeoutMs} ms after Connect exited`);
    await sleep(50);
  }
  return Date.now() - t0;
}

async function dropSlotAndPublication(db: pg.Pool, name: string): Promise<void> {
  await awaitSlotReleased(db, name);
  await db.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [name]);
  await db.query(`DROP PUBLICATION IF EXISTS "${name}"`);
}

const alive = (jvm: Jvm | undefined): jvm is Jvm =>
  jvm !== undefined && jvm.child.exitCode === null && jvm.child.signalCode === null;

/** Sends `sig` to the JVM and waits for it to exit (SIGKILL after `graceMs`). */
async function endJvm(jvm: Jvm | undefined, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!alive(jvm)) return;
  jvm.child.kill(sig);
  const timer = setTimeout(() => jvm.child.kill('SIGKILL'), graceMs);
  await jvm.exited;
  clearTimeout(timer);
}

/** Starts Connect with the connector; resolves once its task is RUNNING and its slot active. */
export async function startDebezium(o: DebeziumOptions): Promise<DebeziumPeer> {
  mkdirSync(o.workDir, { recursive: true });
  const libs = await debeziumLibs();
  // A pool of one: a connection PostgreSQL drops (a restart) is replaced on the next query.
  const db = new pg.Pool({ connectionString: o.postgresUrl, max: 1 });
  db.on('error', () => undefined);
  const slot = dbzName(o.name);
  let jvm: Jvm | undefined;
  const start = async () => {
    if (alive(jvm)) throw new Error(`Connect (pid ${jvm.child.pid}) is still running: kill() or stop() it first`);
    const launched = (jvm = await launch(o, libs));
    peer.pid = launched.child.pid!;
    try {
      peer.starts.push(await awaitRunning(o, launched, db));
    } catch (err) {
      await endJvm(launched, 'SIGKILL', 0);
      throw err;
    }
  };
  const peer: DebeziumPeer = {
    pid: 0,
    topic: o.topic,
    slot,
    publication: slot,
    logFile: join(o.workDir, 'connect.log'),
    starts: [],
    slotReleasedMs: [],
    kill: async () => {
      await endJvm(jvm, 'SIGKILL', 0);
      peer.slotReleasedMs.push(await awaitSlotReleased(db, slot));
    },
    restart: start,
    status: async () => {
      const s = jvm && (await connectorStatus(jvm.port, o.name));
      const task = s?.tasks?.[0];
      return s && { connector: s.connector?.state, task: task?.state, trace: task?.trace ?? s.connector?.trace };
    },
    stop: async () => {
      try {
        await endJvm(jvm, 'SIGTERM', 30_000);
        await dropSlotAndPublication(db, slot);
      } finally {
        await db.end();
      }
    },
  };
  try {
    await start();
  } catch (err) {
    await dropSlotAndPublication(db, slot).catch(() => undefined);
    await db.end();
    throw err;
  }
  return peer;
}

type HeaderValue = Buffer | string | undefined | (Buffer | string)[];

/** The outbox row's `id`, from the `id` header the EventRouter adds to every record it routes. */
export function rowIdOf(message: {
  headers?: Record<string, HeaderValue>;
  key?: Buffer | null;
  value: Buffer | null;
}): string | undefined {
  const header = message.headers?.['id'];
  const first = Array.isArray(header) ? header[0] : header;
  return first === undefined ? undefined : first.toString();
}
