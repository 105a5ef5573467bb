// Snappy for kafkajs through the maintained `snappy` package (napi-rs, prebuilt binaries).
// Compresses raw snappy blocks, as librdkafka does; decompresses both raw blocks and the
// xerial framing the Java client writes.
import kafkajs from 'kafkajs';
import snappy from 'snappy';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

async function decompress(buffer: Buffer): Promise<Buffer> {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) {
    return (await snappy.uncompress(buffer)) as Buffer;
  }
  const chunks: Buffer[] = [];
  for (let at = XERIAL_HEADER_BYTES; at < buffer.length;) {
    const size = buffer.readUInt32BE(at);
    at += 4;
    chunks.push((await snappy.uncompress(buffer.subarray(at, at + size))) as Buffer);
    at += size;
  }
  return Buffer.concat(chunks);
}

const codec = () => ({
  compress: (encoder: { buffer: Buffer }) => snappy.compress(encoder.buffer),
  decompress,
});

/** Registers the codec with kafkajs (process-wide, idempotent). */
export function registerSnappyCodec(): void {
  // kafkajs is CommonJS and its codec registry is not a static named export.
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = codec;
}
