// The codebase's shape, checked: no function in src/ (nor bench/, schedules/, scripts/) longer
// than a screen (60 lines, counted from its first line to its last, nested closures included) and
// no import cycle among those modules. Run by `npm test`'s lint step and by `npm run check:structure`; exits 1 naming each
// function or cycle that breaks the rule.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const MAX_FUNCTION_LINES = 60;
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
  for (const f of long) {
    console.error(`${f.file}:${f.line} ${f.name} is ${f.lines} lines (at most ${MAX_FUNCTION_LINES})`);
  }
  for (const cycle of cycles) {
    console.error(`import cycle: ${cycle.map((f) => relative(root, f)).join(' -> ')}`);
  }
  if (long.length > 0 || cycles.length > 0) process.exit(1);
  console.log(`structure: ${files.length} modules, no function over ${MAX_FUNCTION_LINES} lines, no import cycle`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
