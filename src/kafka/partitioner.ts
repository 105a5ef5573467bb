// Partition choice equal to the Java client's default for keyed records:
// toPositive(murmur2(keyBytes)) % partitionCount. kafkajs's DefaultPartitioner implements
// exactly that; we call it ourselves so the engine knows each record's partition up front.
import { Partitioners, type PartitionMetadata } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();
const metadataCache = new Map<number, PartitionMetadata[]>();

function metadataFor(partitionCount: number): PartitionMetadata[] {
  let metadata = metadataCache.get(partitionCount);
  if (!metadata) {
    metadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    metadataCache.set(partitionCount, metadata);
  }
  return metadata;
}

export function partitionForKey(key: string | Buffer, partitionCount: number): number {
  return partitioner({ topic: '', partitionMetadata: metadataFor(partitionCount), message: { key, value: null } });
}
