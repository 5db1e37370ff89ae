import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  asObject,
  boolQuery,
  checkFilterNames,
  intQuery,
  optionalBool,
  optionalInt,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  parseFilters,
  parseTimestampNs,
  requireString,
} from '../../src/api/index.js';
import { isKind } from '../../src/errors/index.js';

const badParam = (re: RegExp) => (err: unknown) => isKind(err, 'invalid-parameter') && re.test((err as Error).message);

describe('parseFilters', () => {
  it('reads the current map-of-booleans form', () => {
    const f = parseFilters('{"label":{"a=b":true,"c":true},"type":{"container":true}}');
    assert.deepEqual(f.get('label'), ['a=b', 'c']);
    assert.deepEqual(f.get('type'), ['container']);
  });

  it('reads the legacy list form', () => {
    const f = parseFilters('{"name":["foo","bar","foo"]}');
    assert.deepEqual(f.get('name'), ['foo', 'bar']);
  });

  it('treats absent and empty as no filters', () => {
    assert.equal(parseFilters(null).size, 0);
    assert.equal(parseFilters('').size, 0);
    assert.equal(parseFilters('{}').size, 0);
  });

  it('refuses bad JSON and wrong shapes with invalid filter', () => {
    assert.throws(() => parseFilters('{bad'), badParam(/^invalid filter/));
    assert.throws(() => parseFilters('[1]'), badParam(/^invalid filter/));
    assert.throws(() => parseFilters('"x"'), badParam(/^invalid filter/));
    assert.throws(() => parseFilters('{"type":"container"}'), badParam(/invalid filter 'type'/));
    assert.throws(() => parseFilters('{"type":[1]}'), badParam(/invalid filter 'type'/));
    assert.throws(() => parseFilters('{"type":{"container":1}}'), badParam(/invalid filter 'type'/));
  });

  it('refuses unknown filter names naming them', () => {
    assert.throws(() => checkFilterNames(parseFilters('{"foo":["x"]}'), ['type', 'label']), badParam(/invalid filter 'foo'.*label, type/));
    checkFilterNames(parseFilters('{"type":["x"]}'), ['type']);
  });
});

describe('query readers', () => {
  it('boolQuery accepts Docker spellings and refuses the rest', () => {
    const q = new URLSearchParams('a=1&b=true&c=True&d=0&e=false&f=&g=maybe');
    assert.equal(boolQuery(q, 'a'), true);
    assert.equal(boolQuery(q, 'b'), true);
    assert.equal(boolQuery(q, 'c'), true);
    assert.equal(boolQuery(q, 'd'), false);
    assert.equal(boolQuery(q, 'e'), false);
    assert.equal(boolQuery(q, 'f'), false);
    assert.equal(boolQuery(q, 'missing'), false);
    assert.equal(boolQuery(q, 'missing', true), true);
    assert.throws(() => boolQuery(q, 'g'), badParam(/query parameter g/));
  });

  it('intQuery parses integers with bounds', () => {
    const q = new URLSearchParams('t=10&neg=-1&bad=1.5&word=abc&empty=');
    assert.equal(intQuery(q, 't', 0), 10);
    assert.equal(intQuery(q, 'missing', 7), 7);
    assert.equal(intQuery(q, 'missing'), undefined);
    assert.equal(intQuery(q, 'empty', 3), 3);
    assert.equal(intQuery(q, 'neg', 0), -1);
    assert.throws(() => intQuery(q, 'neg', 0, { min: 0 }), badParam(/neg.*minimum 0/));
    assert.throws(() => intQuery(q, 'bad', 0), badParam(/bad.*not an integer/));
    assert.throws(() => intQuery(q, 'word', 0), badParam(/word/));
  });

  it('parses Unix seconds with fractions and RFC 3339 timestamps', () => {
    assert.equal(parseTimestampNs('1700000000', 'since'), 1_700_000_000e9);
    assert.equal(parseTimestampNs('1700000000.5', 'since'), 1_700_000_000e9 + 500_000_000);
    assert.equal(parseTimestampNs('1700000000.123456789', 'since'), 1_700_000_000e9 + 123_456_789);
    assert.equal(parseTimestampNs('2023-11-14T22:13:20Z', 'since'), 1_700_000_000e9);
    assert.equal(parseTimestampNs('2023-11-14T23:13:20.25+01:00', 'since'), 1_700_000_000e9 + 250_000_000);
    assert.throws(() => parseTimestampNs('yesterday', 'since'), badParam(/invalid value for since/));
  });
});

describe('body field readers', () => {
  const body = asObject(
    JSON.parse('{"Image":"busybox","Tty":true,"StopTimeout":10,"Cmd":["sh","-c"],"Labels":{"a":"b"},"Bad":5,"N":null,"__proto__":{"x":"y"}}'),
  );

  it('asObject refuses non-objects and empty bodies', () => {
    assert.throws(() => asObject([1]), badParam(/must be a JSON object, got an array/));
    assert.throws(() => asObject('x'), badParam(/got a string/));
    assert.throws(() => asObject(null), badParam(/got null/));
    assert.throws(() => asObject(undefined), badParam(/empty/));
    assert.deepEqual(asObject(undefined, 'body', true), {});
  });

  it('reads typed fields and names the bad one', () => {
    assert.equal(requireString(body, 'Image'), 'busybox');
    assert.throws(() => requireString(body, 'Missing'), badParam(/missing field Missing/));
    assert.throws(() => requireString(body, 'Bad'), badParam(/invalid field Bad: expected a string, got a number/));
    assert.equal(optionalString(body, 'N'), undefined);
    assert.equal(optionalBool(body, 'Tty'), true);
    assert.throws(() => optionalBool(body, 'Image'), badParam(/invalid field Image/));
    assert.equal(optionalInt(body, 'StopTimeout', { min: 0 }), 10);
    assert.throws(() => optionalInt(body, 'StopTimeout', { max: 5 }), badParam(/StopTimeout.*maximum 5/));
    assert.deepEqual(optionalStringArray(body, 'Cmd'), ['sh', '-c']);
    assert.throws(() => optionalStringArray(asObject({ Cmd: ['a', 1] }), 'Cmd'), badParam(/Cmd\[1\]/));
    assert.deepEqual(optionalStringMap(body, 'Labels'), { a: 'b' });
    assert.throws(() => optionalStringMap(asObject({ Labels: { a: 1 } }), 'Labels'), badParam(/Labels\.a/));
    assert.throws(() => optionalInt(asObject({ N: 1.5 }), 'N'), badParam(/expected an integer/));
  });

  it('keeps a __proto__ key as plain data', () => {
    const m = optionalStringMap(asObject(JSON.parse('{"L":{"__proto__":"x"}}')), 'L');
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(m, '__proto__')?.value, 'x');
  });
});
