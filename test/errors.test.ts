// redactUrls (src/errors.ts): no part of a URL's user-info reaches an error message or a log line,
// whatever the password holds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorMessage, redactUrls } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';

describe('redactUrls', () => {
  test('URLs in error messages and log lines lose their user-info', () => {
    assert.equal(
      redactUrls('GET https://admin:hunter2@host:8081/x failed; see http://u@h/y and https://plain/z'),
      'GET https://***@host:8081/x failed; see http://***@h/y and https://plain/z',
    );
    assert.equal(errorMessage(new Error('fetch https://a:b@h/ failed')), 'fetch https://***@h/ failed');
  });

  test('a password holding "/" and "@": the user-info ends at the last "@" before the host', () => {
    const out = redactUrls('https://user:p@ss/w0rd@host:8081/x');
    assert.equal(out, 'https://***@host:8081/x');
    assert.doesNotMatch(out, /p@ss|ss\/w0rd|w0rd|user/);
  });

  test('passwords holding ":", "%40", several "@" and "/", or only a user name (a token)', () => {
    const cases: [string, string][] = [
      ['https://svc:a:b%40c@registry.example:8081/subjects', 'https://***@registry.example:8081/subjects'],
      ['http://u:@@@//@h/', 'http://***@h/'],
      ['https://key:se/cr@t/x/y@[::1]:8081/p?q=1', 'https://***@[::1]:8081/p?q=1'],
      ['http://AbC/dEf+==@h/y', 'http://***@h/y'],
      ['SASL+SSL://Admin:Hunter2@broker:9093', 'SASL+SSL://***@broker:9093'],
    ];
    for (const [url, redacted] of cases) assert.equal(redactUrls(url), redacted, url);
  });

  test('a URL inside a longer message keeps the text around it', () => {
    assert.equal(
      redactUrls('registry request to https://key:se/cr@t@registry.example/apis/ccompat/v7 failed: 401 (retrying)'),
      'registry request to https://***@registry.example/apis/ccompat/v7 failed: 401 (retrying)',
    );
    assert.equal(redactUrls('connect to <https://u:p@ss@h/> failed.'), 'connect to <https://***@h/> failed.');
  });

  test('two URLs in one message, apart or in a comma-separated list, are each redacted', () => {
    assert.equal(
      redactUrls('primary https://a:p@1/x@h1:8081/a failed, fallback http://b:q@2@h2/b failed too; see a@b.example'),
      'primary https://***@h1:8081/a failed, fallback http://***@h2/b failed too; see a@b.example',
    );
    assert.equal(redactUrls('https://a:x/y@h1/p,https://b:z@w@h2/q'), 'https://***@h1/p,https://***@h2/q');
  });

  test('a JSON log line: a URL ends at its closing quote, the next field is left alone', () => {
    assert.equal(
      redactUrls('{"url":"https://u:p/w@h/","note":"mail a@b"}'),
      '{"url":"https://***@h/","note":"mail a@b"}',
    );
  });

  test('URLs without user-info are unchanged; one whose path holds "@" is cut (printing less is safe)', () => {
    const plain = 'GET https://plain/z and http://h:8080/p?q=1 ok';
    assert.equal(redactUrls(plain), plain);
    assert.equal(redactUrls('see https://host/users/@me'), 'see https://***@me');
  });

  test('errorMessage and the logger redact the same way', () => {
    assert.equal(errorMessage(new Error('fetch https://u:p@ss/w@h/ failed')), 'fetch https://***@h/ failed');
    const lines: string[] = [];
    createLogger('info', (l) => lines.push(l)).warn('x', { url: 'https://admin:p@ss/w0rd@h/' });
    assert.match(lines[0]!, /"url":"https:\/\/\*\*\*@h\/"/);
    assert.doesNotMatch(lines[0]!, /p@ss|w0rd|admin/);
  });

  test('time grows with the text, not its square (a long dotted name, many schemes in one word)', () => {
    const started = Date.now();
    for (const text of [
      'a.'.repeat(200_000),
      'https://x'.repeat(30_000),
      'a://'.repeat(50_000),
      ',a'.repeat(200_000),
    ]) {
      redactUrls(text);
    }
    assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
  });
});
