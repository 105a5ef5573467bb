// The following relay's stream of the slot: START_REPLICATION over a replication connection, the
// pgoutput messages queued as they arrive, and standby status updates that confirm only what the
// caller says was committed to Kafka (never what was merely received). A queue past its high-water
// mark pauses the socket, so a backlog waits in the server's WAL, not in the worker's memory.
import type pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import { PgoutputParser } from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput-parser.js';
import { SourceUnavailableError, errorMessage } from '../../errors.ts';
import { formatLsn, lsnValue } from './lsn.ts';

export interface StreamOptions {
  /** A connected replication-mode client (OutboxConnection.replication); the stream owns it from here. */
  client: pg.Client;
  slot: string;
  publication: string;
  /** Where to start: the server sends the transactions that commit after it. */
  from: string;
  /** Messages queued before the socket is paused. */
  highWater: number;
  /** PostgreSQL's error as ours (OutboxConnection.errorOf). */
  errorOf: (err: unknown) => Error;
}

export interface ChangeStream {
  /** The next message without taking it; undefined when none came within `waitMs`. Throws once the stream failed. */
  peek(waitMs: number): Promise<Pgoutput.Message | undefined>;
  /** Takes the message `peek` returned. */
  take(): Pgoutput.Message | undefined;
  /** Tells the server everything up to `lsn` is done: the slot's confirmed position moves there. */
  confirm(lsn: string): void;
  /** The server's WAL end as of its last message or keepalive. */
  serverEnd(): bigint;
  /** The messages waiting in the queue. */
  queued(): number;
  close(): Promise<void>;
}

/** PostgreSQL's epoch (2000-01-01) in Unix ms: standby status times count µs from it. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
/** A status update at least this often, whatever the server asks (wal_sender_timeout is 60 s by default). */
const STATUS_EVERY_MS = 10_000;

export async function openChangeStream(o: StreamOptions): Promise<ChangeStream> {
  const stream = new Stream(o);
  await stream.start();
  return stream;
}

class Stream implements ChangeStream {
  private readonly connection: PgConnection;
  private readonly parser = new PgoutputParser();
  private queue: Pgoutput.Message[] = [];
  private head = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private confirmed: bigint;
  private end: bigint;
  private paused = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: StreamOptions) {
    this.connection = (o.client as unknown as { connection: PgConnection }).connection;
    this.confirmed = lsnValue(o.from);
    this.end = this.confirmed;
  }

  async start(): Promise<void> {
    const { client } = this.o;
    this.connection.on('copyData', ({ chunk }) => this.received(chunk));
    client.on('error', (err) => this.fail(err));
    client.on('end', () => this.fail(new Error('the server closed the replication connection')));
    const started = new Promise<void>((resolve) => this.connection.once('replicationStart', resolve));
    const sql =
      `START_REPLICATION SLOT "${this.o.slot}" LOGICAL ${formatLsn(this.confirmed)} ` +
      `(proto_version '1', publication_names '"${this.o.publication}"', messages 'true')`;
    const streaming = client.query(sql);
    streaming.then(
      () => this.fail(new Error('the server ended the replication stream')),
      (err: unknown) => this.fail(err),
    );
    await Promise.race([started, streaming.then(() => undefined)]).catch(() => undefined);
    if (this.failure) {
      await client.end().catch(() => undefined);
      throw this.failure;
    }
    this.timer = setInterval(() => this.status(), STATUS_EVERY_MS);
    this.timer.unref();
  }

  private received(chunk: Buffer): void {
    if (chunk[0] === 0x77) {
      // XLogData: 'w', start (8), end of WAL on the server (8), send time (8), the pgoutput message.
      this.end = chunk.readBigUInt64BE(9);
      this.queue.push(this.parser.parse(chunk.subarray(25)));
      if (!this.paused && this.queued() >= this.o.highWater) {
        this.paused = true;
        this.connection.stream.pause();
      }
      this.signal();
    } else if (chunk[0] === 0x6b) {
      // Keepalive: 'k', end of WAL on the server (8), time (8), reply requested (1).
      this.end = chunk.readBigUInt64BE(1);
      if (chunk[17] === 1) this.status();
    }
  }

  private signal(): void {
    this.wake?.();
    this.wake = undefined;
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.failure ??= streamError(err, this.o);
    this.signal();
  }

  private status(): void {
    if (this.closed || this.failure) return;
    this.connection.sendCopyFromChunk(standbyStatus(this.confirmed));
  }

  async peek(waitMs: number): Promise<Pgoutput.Message | undefined> {
    if (this.queued() === 0 && !this.failure && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    if (this.queued() > 0) return this.queue[this.head];
    if (this.failure) throw this.failure;
    return undefined;
  }

  take(): Pgoutput.Message | undefined {
    const m = this.queue[this.head];
    if (m === undefined) return undefined;
    this.queue[this.head++] = undefined as unknown as Pgoutput.Message;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.queued() <= this.o.highWater / 2) {
      this.paused = false;
      this.connection.stream.resume();
    }
    return m;
  }

  confirm(lsn: string): void {
    const value = lsnValue(lsn);
    if (value <= this.confirmed) return;
    this.confirmed = value;
    this.status();
  }

  serverEnd(): bigint {
    return this.end;
  }

  queued(): number {
    return this.queue.length - this.head;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    this.signal();
    await this.o.client.end().catch(() => undefined);
  }
}

/** The parts of pg's Connection the stream uses (pg does not type them). */
interface PgConnection {
  on(event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

/** A standby status update: written, flushed and applied all up to `lsn`; no reply asked for. */
function standbyStatus(lsn: bigint): Buffer {
  const b = Buffer.alloc(34);
  b[0] = 0x72; // 'r'
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(lsn, 9);
  b.writeBigUInt64BE(lsn, 17);
  b.writeBigInt64BE(BigInt(Date.now() - POSTGRES_EPOCH_MS) * 1000n, 25);
  b[33] = 0;
  return b;
}

/** A refusal with a SQLSTATE is mapped as every query's; anything else is a lost stream (retryable). */
function streamError(err: unknown, o: StreamOptions): Error {
  if (typeof (err as { code?: unknown } | null)?.code === 'string') return o.errorOf(err);
  return new SourceUnavailableError(`the replication stream of slot ${o.slot} was lost: ${errorMessage(err)}`, {
    cause: err,
  });
}
