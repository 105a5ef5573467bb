// pgoutput messages as outbox events and positions, the same for a scheduled run's peek
// (changes.ts) and the following relay's stream (follow.ts): Begin opens a transaction (skipped
// when the position already holds it, partly skipped when the position stopped inside it), each
// Insert is one row in insert order, a heartbeat message marks a point the relay can prune below,
// and Commit moves the position to the transaction's end.
import type { Pgoutput } from 'pg-logical-replication';
import { DeadLetterReason, type DeadLetterFailure } from '../../dlq/envelope.ts';
import { lsnValue, normalLsn } from './lsn.ts';
import type { OutboxPosition } from './position.ts';

/** The heartbeat's logical-message prefix (other runs' heartbeats are read past like empty transactions). */
export const HEARTBEAT_PREFIX = 'order_events.heartbeat';

/** How much of a too-large row's text goes into its dead letter. */
const CUT_TO_CHARS = 1024;

/** The transaction being read. */
interface Txn {
  commit: string;
  /** Rows of it already published (all of them: Infinity). */
  skip: number;
  index: number;
  time: string;
  /** The xmin recorded before one of our heartbeats it carries: every transaction below it ended before. */
  prunable: string | undefined;
}

export interface DecoderOptions {
  from: OutboxPosition;
  /** Whether `from` came from the ledger (else the position stays unmoved until a transaction moves it). */
  recorded: boolean;
  maxEventBytes: number;
  /** The xmin taken before one of our heartbeats, by its token; undefined for any other message. */
  beatXmin: (token: string) => string | undefined;
}

export class TxnDecoder {
  readonly ids = new WeakMap<object, string>();
  readonly problems = new WeakMap<object, DeadLetterFailure>();
  /** The largest record the events topic takes (a larger row goes to the dead-letter topic cut). */
  maxEventBytes: number;
  /** Where the read stands: moved at each commit read whole and each row taken. */
  position: OutboxPosition;
  moved: boolean;
  private txn: Txn | undefined;
  private readonly start: bigint;

  constructor(private readonly o: DecoderOptions) {
    this.maxEventBytes = o.maxEventBytes;
    this.position = o.from;
    this.moved = o.recorded;
    this.start = lsnValue(o.from.lsn);
  }

  /** Whether `m` is a row to publish (not one the position already holds). */
  isRow(m: Pgoutput.Message): boolean {
    return m.tag === 'insert' && this.txn !== undefined && this.txn.index >= this.txn.skip;
  }

  /** Inside a transaction (its commit not read yet). */
  get open(): boolean {
    return this.txn !== undefined;
  }

  /** The commit time of the transaction being read (ISO), if any. */
  get openSince(): string | undefined {
    return this.txn?.time;
  }

  /** Takes one message: the row's event when it is one to publish. */
  apply(m: Pgoutput.Message): Record<string, unknown> | undefined {
    const txn = this.txn;
    if (m.tag === 'begin') {
      const commit = normalLsn(m.commitLsn!);
      const { inside } = this.o.from;
      // A transaction is published when its commit ends at or before `from`: its commit record starts before it.
      const skip = lsnValue(commit) < this.start ? Infinity : inside?.commit === commit ? inside.rows : 0;
      const time = new Date(Number((m.commitTime as unknown as bigint) / 1000n)).toISOString();
      this.txn = { commit, skip, index: 0, time, prunable: undefined };
    } else if (m.tag === 'insert' && txn) {
      if (txn.index++ < txn.skip) return undefined;
      this.position = { ...this.position, inside: { commit: txn.commit, rows: txn.index } };
      this.moved = true;
      return eventOf(m.new, this.maxEventBytes, this);
    } else if (m.tag === 'message' && txn && m.prefix === HEARTBEAT_PREFIX) {
      txn.prunable ??= this.o.beatXmin(Buffer.from(m.content).toString());
    } else if (m.tag === 'commit' && txn) {
      if (txn.skip !== Infinity) this.committed(normalLsn(m.commitEndLsn!), txn.time);
      // Every transaction that ended before the heartbeat was read: their rows may be pruned.
      if (txn.prunable !== undefined) this.position = { ...this.position, prunable: txn.prunable };
      this.txn = undefined;
    }
    return undefined;
  }

  /** A transaction read whole: the position moves to its end. */
  private committed(end: string, time: string): void {
    const next: OutboxPosition = { ...this.position, lsn: end, committedAt: time };
    delete next.inside;
    this.position = next;
    this.moved = true;
  }
}

/** PostgreSQL's words for the times that are not one (pg parses them to ±Infinity). */
const timeText = (t: unknown) => (t === Infinity ? 'infinity' : t === -Infinity ? '-infinity' : String(t));

/** A row as an OrderEvent; a NULL or out-of-range column is left for validation to name. */
function eventOf(
  row: Record<string, unknown>,
  maxEventBytes: number,
  { ids, problems }: Pick<TxnDecoder, 'ids' | 'problems'>,
): Record<string, unknown> {
  const time = row['created_at'];
  const text = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v));
  let customer = text(row['customer_id']);
  let status = text(row['order_status']);
  const bytes = Buffer.byteLength(customer ?? '') + Buffer.byteLength(status ?? '') + 64;
  const event: Record<string, unknown> = {
    order_id: row['order_id'] === null || row['order_id'] === undefined ? null : BigInt(row['order_id'] as string),
    customer_id: customer,
    order_status: status,
    order_total: row['order_total'] ?? null,
    created_at: time instanceof Date ? time.getTime() : time === null || time === undefined ? null : timeText(time),
  };
  ids.set(event, String(row['id']));
  if (bytes > maxEventBytes) {
    customer = customer?.slice(0, CUT_TO_CHARS) ?? null;
    status = status?.slice(0, CUT_TO_CHARS) ?? null;
    Object.assign(event, { customer_id: customer, order_status: status });
    problems.set(event, {
      reason: DeadLetterReason.tooLarge,
      message:
        `the row's text is ${bytes} bytes; the topic takes records of at most ${maxEventBytes} ` +
        `(max.message.bytes): customer_id and order_status are cut to their first ${CUT_TO_CHARS} characters here`,
    });
  } else if (typeof event['created_at'] === 'string') {
    problems.set(event, {
      reason: DeadLetterReason.invalid,
      message: `created_at: ${JSON.stringify(event['created_at'])} is not a time a record can carry (timestamp-millis)`,
      fieldPaths: ['created_at'],
    });
  }
  return event;
}
