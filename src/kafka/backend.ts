// What a client backend (src/kafka/kafkajs/, src/kafka/librdkafka/) provides, and what the rest of
// the code sees of a transaction. A backend opens a transaction (registering its transactional id,
// which fences every earlier producer with it), sends, commits, aborts and closes; the order of
// those steps, and what follows a failed commit, is written once in transaction.ts.
import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { CredentialSource } from '../secrets.ts';

export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  partition: number;
  timestamp?: string;
  /** Record headers (the W3C `traceparent` when tracing is on); one object shared by a run's records. */
  headers?: Record<string, string>;
}

export interface TopicBatch {
  topic: string;
  messages: OutgoingMessage[];
}

/**
 * What the client reports for one partition of one send: offsets baseOffset..baseOffset+count-1,
 * or null where the backend does not learn offsets (librdkafka: see librdkafka/transaction.ts).
 */
export interface PartitionAck {
  topic: string;
  partition: number;
  baseOffset: number | null;
}

/** What the caller's work sees of a transaction. */
export interface ProducerTransaction {
  /**
   * Hands the batches to the client. kafkajs resolves once the broker acknowledged them;
   * librdkafka once its queue took them (the commit waits for every acknowledgement, and a
   * record that fails fails the commit). Either way nothing is visible before the commit.
   */
  send(batches: TopicBatch[]): Promise<PartitionAck[]>;
}

export interface TransactionOptions {
  /** Every producer with this id, in any process, is fenced when this transaction opens. */
  transactionalId: string;
  /** How long the broker lets the transaction stay open before aborting it. */
  timeoutMs: number;
  /** Checked once the transaction is open (fenced) and again before the commit. */
  throwIfCancelled?: () => void;
  /** Told how long the commit took, or that the transaction was aborted (metrics). */
  observe?: { committed(seconds: number): void; aborted(): void };
}

/**
 * How a commit ended. `failed` carries what the client said about the transaction after it:
 * `mustAbort` when the client knows the transaction did not commit and needs an abort
 * (librdkafka's txn_requires_abort); otherwise the outcome is unknown (the commit may have gone
 * through, or may still complete on the coordinator) and only the next producer with the id,
 * fencing this one, settles it.
 */
export type CommitResult = { ok: true } | { ok: false; error: Error; mustAbort: boolean };

/** A transaction a backend opened: its producer registered (earlier producers fenced) and the transaction begun. */
export interface BackendTransaction extends ProducerTransaction {
  /** Commits, retrying what the client marks retriable (a coordinator move, a lost answer), bounded. */
  commit(): Promise<CommitResult>;
  /** Aborts; throws when the abort could not be completed. */
  abort(): Promise<void>;
  /** Closes the producer (librdkafka finishes closing in the background, see backend `close`). */
  close(): Promise<void>;
}

/** What a client backend provides: transactions, nothing else. */
export interface ProducerBackend {
  readonly name: Config['kafka']['client'];
  /** Fails (ConfigError) when the backend cannot run here, e.g. its native module is missing. */
  ready(): Promise<void>;
  /** Opens a producer with `options.transactionalId` and begins a transaction; closes the producer again if that fails. */
  open(options: TransactionOptions): Promise<BackendTransaction>;
  /** Waits for producers still closing (librdkafka closes them after the outcome is known). */
  close?(): Promise<void>;
}

export interface ProducerDeps {
  config: Config['kafka'];
  credentials: CredentialSource;
  logger: Logger;
}

/**
 * How long a transaction may stall in the client (a full queue, a commit waiting on a moved
 * coordinator) before the try fails: both clients move requests across leader and coordinator
 * changes themselves, which takes seconds; bounding that by a short KAFKA_SEND_TIMEOUT_MS
 * aborted every try of a rolling restart (measured). Never past the transaction's own timeout.
 */
export const stallBoundMs = (config: Pick<Config['kafka'], 'sendTimeoutMs'>, options: TransactionOptions): number =>
  Math.min(Math.max(config.sendTimeoutMs, 30_000), options.timeoutMs);
