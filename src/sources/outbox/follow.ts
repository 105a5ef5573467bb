// The following relay: the outbox read from a replication stream that stays open between runs, so
// a row reaches Kafka within a commit interval of its own commit instead of at the next scheduled
// run. Each batch is one run of the same engine (one Kafka transaction, its position in the ledger
// record, the slot confirmed after the commit), so the position rules and the exactly-once proof
// are the scheduled runs'. What changes is where the changes come from: the stream is opened at the
// ledger's position and read on while the ledger agrees with it; a batch that did not commit (an
// abort, a fence, a restart) reopens it at the ledger's position, so nothing is skipped or repeated.
import type { CursorRead, CursorSource, ReadLimits, SourceLag } from '../contract.ts';
import { SourceBusyError, SourceUnavailableError } from '../../errors.ts';
import { heartbeat } from './changes.ts';
import { TxnDecoder } from './decode.ts';
import { lsnValue } from './lsn.ts';
import { formatPosition, parsePosition } from './position.ts';
import { checkRelayTable, guardFirstRun, recordPublished } from './relay.ts';
import { checkWalLevel, followerApplication, slotHolder, type SlotHolder } from './slot.ts';
import { startingPoint, type OutboxSourceDeps } from './source.ts';
import { openChangeStream, type ChangeStream } from './stream.ts';

export interface FollowerDeps extends OutboxSourceDeps {
  /** The follower's workflow id: its stream's application name, so its next attempt can take the slot back. */
  workflowId: string;
  /** The longest a batch collects before its commit (FOLLOW_COMMIT_INTERVAL_MS). */
  commitEveryMs: number;
  /** Messages the stream queues before it pauses the socket. */
  highWater: number;
}

export interface FollowerStats {
  /** The last position committed (null: nothing yet). */
  position: string | null;
  /** WAL between the server's end and the last position committed: what is not yet published, in bytes. */
  lagBytes: number;
  lagSeconds: number;
}

export interface OutboxFollower {
  /** The source each batch is a run of: `read` takes the stream's next batch. */
  source: CursorSource;
  /** True once a change waits in the stream, false after `ms` without one (true at once when no stream is open). */
  waitForChanges(ms: number): Promise<boolean>;
  /** Writes a heartbeat into the WAL: an idle outbox's position moves past it, and prune below it. */
  beat(): Promise<void>;
  stats(): Promise<FollowerStats>;
  /** Closes the stream (the slot is free again); the follower opens it again when read. */
  stop(): Promise<void>;
  /** Closes the stream and the follower's connections. */
  close(): Promise<void>;
}

/** How long a follower waits for a run's peek to release the slot before its attempt fails (retried). */
const SLOT_WAIT_MS = 10_000;
/** Relay-table updates at most this often (prune's lower bound and `outbox status`; the ledger is the truth). */
const RECORD_EVERY_MS = 5_000;

export function createOutboxFollower(deps: FollowerDeps): OutboxFollower {
  const f = new Follower(deps);
  return {
    source: {
      kind: 'cursor',
      name: deps.name,
      // A follower that has no stream yet refuses to start while another holds the slot, before it fences it.
      prepare: () => f.prepare(),
      read: (from, limits) => f.read(from, limits),
      lag: async (): Promise<SourceLag> => ({ seconds: await f.lagSeconds() }),
      checkFirstRun: () => guardFirstRun(deps.connection, deps.table, { topic: deps.topic, source: deps.name }),
      committed: (position) => f.committed(position),
      close: () => f.stop(),
    },
    waitForChanges: (ms) => f.waitForChanges(ms),
    beat: () => f.beat(),
    stats: () => f.stats(),
    stop: () => f.stop(),
    async close() {
      await f.stop();
      await deps.connection.close();
    },
  };
}

class Follower {
  private readonly application: string;
  private readonly beats = new Map<string, string>();
  private stream: ChangeStream | undefined;
  private decoder: TxnDecoder | undefined;
  /** The position of the last batch that committed (the ledger's, as far as this follower knows). */
  private committedAt: string | undefined;
  /** A batch was read and not committed: the stream is past the ledger. */
  private dirty = false;
  private recordedAt = 0;
  private checked = false;

  constructor(private readonly deps: FollowerDeps) {
    this.application = followerApplication(deps.workflowId);
  }

  async prepare(): Promise<void> {
    if (!this.stream) await takeSlot(this.deps, this.application);
  }

  async read(from: string | undefined, limits: ReadLimits): Promise<CursorRead> {
    const { connection: db, table: t } = this.deps;
    if (!this.checked) {
      await checkWalLevel(db);
      await checkRelayTable(db, t);
      this.checked = true;
    }
    if (!this.stream || !this.decoder || this.dirty || from !== this.committedAt) await this.open(from, limits);
    const d = this.decoder!;
    d.maxEventBytes = limits.maxEventBytes;
    this.dirty = true;
    const lookup =
      <T>(map: WeakMap<object, T>) =>
      (event: unknown) =>
        typeof event === 'object' && event !== null ? map.get(event) : undefined;
    return {
      events: batch(this.stream!, d, limits.maxEvents, this.deps.commitEveryMs),
      position: () => (d.moved ? formatPosition(d.position) : undefined),
      idOf: lookup(d.ids),
      problemOf: lookup(d.problems),
    };
  }

  /** Opens the stream at the ledger's position (checked as a scheduled run's is). */
  private async open(from: string | undefined, limits: ReadLimits): Promise<void> {
    const { deps } = this;
    await this.stop();
    await takeSlot(deps, this.application);
    const start = await startingPoint(deps, from);
    this.stream = await openChangeStream({
      client: await deps.connection.replication(this.application),
      slot: deps.slot,
      publication: deps.table.publicationName,
      from: start.from.lsn,
      highWater: deps.highWater,
      errorOf: (err) => deps.connection.errorOf(err),
    });
    this.decoder = new TxnDecoder({
      ...start,
      maxEventBytes: limits.maxEventBytes,
      beatXmin: (k) => this.beats.get(k),
    });
    this.committedAt = from;
    this.dirty = false;
    deps.logger.info('following the outbox', { source: deps.name, slot: deps.slot, from: start.from.lsn });
  }

  async committed(position: string | undefined): Promise<void> {
    this.committedAt = position;
    this.dirty = false;
    const p = parsePosition(position);
    if (!p) return;
    this.stream?.confirm(p.lsn);
    if (Date.now() - this.recordedAt < RECORD_EVERY_MS) return;
    this.recordedAt = Date.now();
    const me = { topic: this.deps.topic, source: this.deps.name };
    await recordPublished(this.deps.connection, this.deps.table, me, p).catch((err: unknown) =>
      this.deps.logger.warn('relay table not updated (the ledger has the position)', { error: String(err) }),
    );
  }

  async waitForChanges(ms: number): Promise<boolean> {
    if (!this.stream) return true;
    return (await this.stream.peek(ms).catch(() => true)) !== undefined;
  }

  async beat(): Promise<void> {
    const token = `${this.deps.slot}:follow:${process.pid}:${Date.now()}`;
    const { xmin } = await heartbeat(this.deps.connection, token);
    this.beats.set(token, xmin);
    for (const k of this.beats.keys()) if (this.beats.size > 32) this.beats.delete(k);
  }

  async stats(): Promise<FollowerStats> {
    const p = parsePosition(this.committedAt);
    const end = this.stream?.serverEnd() ?? 0n;
    return {
      position: this.committedAt ?? null,
      lagBytes: p && end > lsnValue(p.lsn) ? Number(end - lsnValue(p.lsn)) : 0,
      lagSeconds: await this.lagSeconds(),
    };
  }

  /** Seconds since the oldest change not yet published committed: the open transaction's, or the next one's. */
  async lagSeconds(): Promise<number> {
    const head = await this.stream?.peek(0).catch(() => undefined);
    const next = head?.tag === 'begin' ? Number((head.commitTime as unknown as bigint) / 1000n) : undefined;
    const open = this.decoder?.openSince;
    const since = open !== undefined ? Date.parse(open) : next;
    return since === undefined ? 0 : Math.max(0, (Date.now() - since) / 1000);
  }

  async stop(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    this.decoder = undefined;
    await s?.close();
  }
}

/**
 * One batch: the stream's changes until it has caught up at a transaction's end, or until the
 * commit interval ends, or `maxRows` rows; a batch may stop inside a transaction (the position says so).
 */
async function* batch(stream: ChangeStream, d: TxnDecoder, maxRows: number, everyMs: number): AsyncGenerator<unknown> {
  const deadline = performance.now() + everyMs;
  let rows = 0;
  let commits = 0;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return;
    // Caught up at a transaction's end with something read: commit now rather than wait out the interval.
    const m = await stream.peek(d.open || commits === 0 ? left : 0);
    if (m === undefined) return;
    if (d.isRow(m) && rows >= maxRows) return;
    stream.take();
    const event = d.apply(m);
    if (m.tag === 'commit') commits++;
    if (event === undefined) continue;
    rows++;
    yield event;
  }
}

/**
 * Makes the slot free for this follower: a stream of its own earlier attempt (a frozen or cut-off
 * worker whose connection the server has not dropped yet) is ended; another follower's is refused;
 * a scheduled run's peek is waited out.
 */
async function takeSlot(deps: FollowerDeps, application: string): Promise<void> {
  const { connection: db } = deps;
  const until = Date.now() + SLOT_WAIT_MS;
  for (;;) {
    const holder: SlotHolder | undefined = await slotHolder(db, deps.slot);
    if (!holder) return;
    if (holder.application === application) {
      deps.logger.warn('ending an earlier attempt’s stream of the slot', { source: deps.name, pid: holder.pid });
      await db.query('SELECT pg_terminate_backend($1)', [holder.pid]);
    } else if (holder.backendType === 'walsender') {
      throw new SourceBusyError(
        `source ${deps.name} already has a follower: another stream holds its slot ${deps.slot} (PostgreSQL pid ` +
          `${holder.pid}, ${holder.application || 'no application name'}, since ${holder.since ?? 'unknown'}). ` +
          `One follower per source: stop the other (\`npm run outbox -- follow --stop\`) first`,
      );
    } else if (Date.now() > until) {
      throw new SourceUnavailableError(
        `the slot ${deps.slot} is still held by PostgreSQL pid ${holder.pid} (${holder.application}) after ` +
          `${SLOT_WAIT_MS / 1000} s: a scheduled run of the source is reading it`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
