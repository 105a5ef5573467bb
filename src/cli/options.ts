// Option parsers shared by the commands (commander calls them with the raw argument). A refused
// value throws commander's InvalidArgumentError, so commander names the option, prints
// "error: option '--limit <n>' argument '0' is invalid. expected a whole number >= 1" and exits 1
// before the command's action runs (nothing is connected to yet).
import { InvalidArgumentError } from 'commander';

/**
 * A parser for a whole number from 1 (to `max`, if given, named `maxFrom` when a setting sets it):
 * digits only, so "0", "-1", "1.5", "1e3", "5x", "abc" and "" are refused rather than read as NaN
 * or a prefix (`parseInt("5x")` is 5).
 */
export function positiveInt(max: number = Number.MAX_SAFE_INTEGER, maxFrom?: string): (value: string) => number {
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? 'a whole number >= 1'
      : `a whole number from 1 to ${max}${maxFrom ? ` (${maxFrom})` : ''}`;
  return (value: string) => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected ${expected}`);
    }
    return n;
  };
}
