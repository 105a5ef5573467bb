import type avro from 'avsc';

interface FieldProblem {
  /** Dotted path of the offending field, e.g. "order_status". */
  path: string;
  reason: string;
}

/** Every field of `value` that does not fit `type`, with why; empty when the value is valid. */
export function validate(type: avro.Type, value: unknown): FieldProblem[] {
  // Hot path: a valid record with exactly the schema's fields needs no error bookkeeping.
  if (value !== null && typeof value === 'object' && ownKeyCount(value) === fieldCount(type) && type.isValid(value)) {
    return [];
  }
  const problems: FieldProblem[] = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ path: '(root)', reason: `expected a record, got ${describe(value)}` }];
  }
  type.isValid(value, {
    errorHook: (path: string[], got: unknown, expected: avro.Type) => {
      problems.push({
        path: path.join('.') || '(root)',
        reason: `expected ${typeName(expected)}, got ${describe(got)}`,
      });
    },
  });
  // avsc ignores fields the schema does not know; a producer should not silently drop data.
  const known = new Set(((type as avro.types.RecordType).fields ?? []).map((f) => f.name));
  for (const key of Object.keys(value)) {
    if (!known.has(key)) problems.push({ path: key, reason: 'is not a field of the schema' });
  }
  return problems;
}

function typeName(type: avro.Type): string {
  const t = type as avro.Type & { symbols?: string[] };
  if (t.symbols) return `one of ${t.symbols.join('|')}`;
  return t.typeName.replace(/^abstract:/, ''); // our 64-bit long is an avsc "abstract" long
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  const json = JSON.stringify(value);
  return json === undefined ? typeof value : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Object.keys(value).length without the array (this runs once per event). */
function ownKeyCount(value: object): number {
  let count = 0;
  for (const key in value) if (Object.hasOwn(value, key)) count++;
  return count;
}

const fieldCounts = new WeakMap<avro.Type, number>();
function fieldCount(type: avro.Type): number {
  let count = fieldCounts.get(type);
  if (count === undefined) {
    count = ((type as avro.types.RecordType).fields ?? []).length;
    fieldCounts.set(type, count);
  }
  return count;
}
