// JSON checked against a zod shape, one way everywhere: the caller says what the text is and which
// error to throw; the problem is worded here (not JSON, or each issue as `path: message`).
import type { z } from 'zod';

/** What was wrong with the text: not JSON at all, or JSON of the wrong shape (its issues worded). */
export type JsonProblem = { kind: 'syntax' } | { kind: 'shape'; issues: string };

/** zod's issues as `path: message; path: message` (`(root)` for the value itself), or as `word` puts each. */
export function wordIssues(
  issues: readonly z.core.$ZodIssue[],
  word: (path: string, message: string) => string = (path, message) => `${path}: ${message}`,
  separator = '; ',
): string {
  return issues.map((i) => word(i.path.map(String).join('.') || '(root)', i.message)).join(separator);
}

/** Parses `text` and checks it against `shape`; a problem is thrown as `fail` makes it. */
export function decodeJson<T>(
  text: string,
  shape: z.ZodType<T>,
  fail: (problem: JsonProblem) => Error,
  word?: (path: string, message: string) => string,
): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail({ kind: 'syntax' });
  }
  const parsed = shape.safeParse(json);
  if (!parsed.success) throw fail({ kind: 'shape', issues: wordIssues(parsed.error.issues, word) });
  return parsed.data;
}
