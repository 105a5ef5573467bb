// The codebase's shape, checked: no function in src/ (nor bench/, schedules/, scripts/) longer
// than a screen (60 lines, counted from its first line to its last, nested closures included), no
// import cycle among those modules, and every import looking down the layers below (LAYERS), never
// up. Run by `npm test`'s lint step and by `npm run check:structure`; exits 1 naming each function,
// cycle or upward import that breaks the rule.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const MAX_FUNCTION_LINES = 60;

/**
 * The layers, lowest first: a module may import from its own layer and the layers before it, never
 * from a later one. A module's layer is the first whose paths (relative to the repository, a folder
 * or a file) hold it; a module in none is reported.
 */
export const LAYERS: string[][] = [
  // What everything may use: errors, bounded waits, logs, JSON checked by zod, the local stack's settings.
  ['src/errors.ts', 'src/timeout.ts', 'src/logger.ts', 'src/json.ts', 'src/local-env.ts', 'src/pg-names.ts'],
  ['src/telemetry/metrics.ts', 'src/dlq/'],
  ['src/secrets.ts'],
  ['src/schema/'],
  ['src/config/'],
  ['src/telemetry/'],
  ['src/kafka/'],
  ['src/run-ledger/'],
  ['src/sources/'],
  ['src/engine/'],
  ['src/activities/'],
  ['src/workflows/'],
  ['src/app.ts', 'src/temporal-connection.ts'],
  ['src/cli/'],
  ['src/worker.ts'],
  ['schedules/', 'bench/', 'scripts/'],
];

/** The index in `layers` of the module at `path` (relative to the repository), or -1. */
export function layerOf(path: string, layers: string[][] = LAYERS): number {
  return layers.findIndex((paths) => paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)));
}

/** Each import from a module to one in a later layer, and each module in no layer. */
export function layerBreaks(graph: Map<string, string[]>, layers: string[][] = LAYERS): string[] {
  const breaks: string[] = [];
  for (const [from, targets] of graph) {
    const own = layerOf(from, layers);
    if (own < 0) {
      breaks.push(`${from} is in no layer (scripts/check-structure.ts LAYERS)`);
      continue;
    }
    for (const to of targets) {
      const theirs = layerOf(to, layers);
      if (theirs > own) breaks.push(`upward import: ${from} (layer ${own}) imports ${to} (layer ${theirs})`);
    }
  }
  return breaks;
}
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const roots = ['src', 'bench', 'schedules', 'scripts'].map((dir) => join(root, dir));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

export interface LongFunction {
  file: string;
  name: string;
  line: number;
  lines: number;
}

export function longFunctions(file: string, text: string, max = MAX_FUNCTION_LINES): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) found.push({ file, name: functionName(node), line: start + 1, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Relative imports of one module, resolved to .ts paths (type-only imports included). */
function importsOf(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const targets: string[] = [];
  for (const statement of source.statements) {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
        ? statement.moduleSpecifier.text
        : undefined;
    if (!specifier?.startsWith('.')) continue;
    targets.push(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
  }
  return targets;
}

export function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) walk(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) walk(node);
  return cycles;
}

function main(): void {
  const files = roots.flatMap(sourceFiles);
  const graph = new Map<string, string[]>();
  const long: LongFunction[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    graph.set(file, importsOf(file, text));
    long.push(...longFunctions(relative(root, file), text));
  }
  const cycles = importCycles(graph);
  const relativeGraph = new Map(
    [...graph].map(([from, targets]) => [
      relative(root, from),
      targets.filter((t) => graph.has(t)).map((t) => relative(root, t)),
    ]),
  );
  const breaks = layerBreaks(relativeGraph);
  for (const f of long) {
    console.error(`${f.file}:${f.line} ${f.name} is ${f.lines} lines (at most ${MAX_FUNCTION_LINES})`);
  }
  for (const cycle of cycles) {
    console.error(`import cycle: ${cycle.map((f) => relative(root, f)).join(' -> ')}`);
  }
  for (const b of breaks) console.error(b);
  if (long.length > 0 || cycles.length > 0 || breaks.length > 0) process.exit(1);
  console.log(
    `structure: ${files.length} modules in ${LAYERS.length} layers, no function over ${MAX_FUNCTION_LINES} lines, no import cycle, no upward import`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
