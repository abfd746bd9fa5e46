import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../flow/issues';
import { loadFlow } from '../flow/load';
import { defaultExpressionLimits, RecordError, type ExpressionLimits } from '../types';
import { compiledExpressionCount, evaluateExpression, expressionProblem, MAX_CACHED_EXPRESSIONS, MAX_LIST_LENGTH, MAX_TEXT_LENGTH } from './expression';

const limits = defaultExpressionLimits;
const evaluate = (source: string, input: unknown = {}, withLimits: ExpressionLimits = limits) => evaluateExpression(source, input, withLimits, 'calc');

/** Rejects with a RecordError, and does so quickly: runaway expressions must never hang. */
async function expectRejection(promise: Promise<unknown>, message: RegExp | string, withinMs = 2000): Promise<RecordError> {
  const started = Date.now();
  const error = await promise.then(
    () => {
      throw new Error('expected the expression to be rejected');
    },
    (reason: unknown) => reason,
  );
  expect(Date.now() - started).toBeLessThan(withinMs);
  expect(error).toBeInstanceOf(RecordError);
  expect((error as RecordError).nodeId).toBe('calc');
  expect((error as RecordError).message).toMatch(message);
  return error as RecordError;
}

const endlessTailRecursion = '($f := function($x){ $f($x+1) }; $f(0))';
const endlessRecursion = '($f := function($x){ $x + $f($x+1) }; $f(0))';

describe('evaluateExpression', () => {
  it('evaluates against the input and returns plain data', async () => {
    expect(await evaluate("first_name & ' ' & last_name", { first_name: 'Ada', last_name: 'Lovelace' })).toBe('Ada Lovelace');
    const list = await evaluate('items.price', { items: [{ price: 1 }, { price: 2 }] });
    expect(list).toEqual([1, 2]);
    // JSONata's sequences carry marker properties; a record must not.
    expect(Object.keys(list as object)).toEqual(['0', '1']);
    expect(await evaluate('missing', { present: 1 })).toBeUndefined();
  });

  it('returns copies, never the input objects themselves', async () => {
    const input = { address: { city: 'London' } };
    const result = (await evaluate('address', input)) as { city: string };
    expect(result).toEqual({ city: 'London' });
    expect(result).not.toBe(input.address);
  });

  it('turns run-time errors into RecordErrors with the message and position', async () => {
    await expectRejection(evaluate('a + "x"', { a: 1 }), /^expression failed at character 3: The right side of the "\+" operator must evaluate to a number/);
    await expectRejection(evaluate('$error("no way")'), /expression failed at character \d+: no way/);
  });

  it('refuses an expression that does not parse', async () => {
    await expectRejection(evaluate('(a'), /^expression does not parse at character \d+/);
  });

  it('refuses a function as a value', async () => {
    await expectRejection(evaluate('function($x){ $x }'), 'expression returned a function, not a value');
    // Inside a value a function is dropped, as JSON.stringify would.
    expect(await evaluate('{"a": 1, "f": function(){ 1 }}')).toEqual({ a: 1 });
  });

  it('cannot reach the process, globals or prototypes', async () => {
    for (const source of ['$process', 'process', 'constructor', '$lookup($, "constructor")', '__proto__', '$string.constructor', 'require']) {
      expect(await evaluate(source, { a: 1 })).toBeUndefined();
    }
  });
});

describe('evaluateExpression limits', () => {
  it('stops an endless tail-recursive function by time', async () => {
    await expectRejection(evaluate(endlessTailRecursion), 'expression ran longer than 100 ms');
  });

  it('uses the time limit it is given', async () => {
    await expectRejection(evaluate(endlessTailRecursion, {}, { timeoutMs: 20, maxDepth: 200 }), 'expression ran longer than 20 ms', 1000);
  });

  it('stops an endless recursion by depth', async () => {
    await expectRejection(evaluate(endlessRecursion), 'expression recursed deeper than 200 levels');
  });

  it('counts depth as levels of recursion, so legitimate recursion within the limit runs', async () => {
    const countDown = '($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(n))';
    expect(await evaluate(countDown, { n: 150 })).toBe(150);
    // $f(9) down to $f(0) is ten levels.
    expect(await evaluate(countDown, { n: 9 }, { timeoutMs: 100, maxDepth: 10 })).toBe(9);
    await expectRejection(evaluate(countDown, { n: 10 }, { timeoutMs: 100, maxDepth: 10 }), 'expression recursed deeper than 10 levels');
  });

  it('does not mistake a wide expression for a deep one', async () => {
    // JSONata evaluates object-constructor groups concurrently; 500 of them are not 500 levels of recursion. What is
    // checked is depth, not time: on a busy machine these take longer than the default 100 ms of wall clock.
    const untimed = { ...limits, timeoutMs: 60_000 };
    const lines = Array.from({ length: 500 }, (_, index) => ({ sku: `s${index}`, qty: index }));
    const grouped = (await evaluate('lines{sku: $string(qty)}', { lines }, untimed)) as Record<string, string>;
    expect(Object.keys(grouped)).toHaveLength(500);
    const literal = `[${Array.from({ length: 400 }, (_, index) => index).join(',')}]`;
    expect(await evaluate(`$count(${literal})`, {}, untimed)).toBe(400);
  });

  it('stops huge lists before they are built', async () => {
    await expectRejection(evaluate('$map([1..9999999], function($v){$v*2})'), `expression built a list of more than ${MAX_LIST_LENGTH} items`);
    await expectRejection(evaluate('$count([1..10000000])'), `expression built a list of more than ${MAX_LIST_LENGTH} items`);
    await expectRejection(evaluate('$count([1..100000000])'), `expression built a list of more than ${MAX_LIST_LENGTH} items`);
    expect(await evaluate(`$count([1..${MAX_LIST_LENGTH}])`)).toBe(MAX_LIST_LENGTH);
  });

  it('stops a long loop over a list that is allowed', async () => {
    await expectRejection(evaluate(`$map([1..${MAX_LIST_LENGTH}], function($v){ $v * 2 }) ~> $count`), 'expression ran longer than 100 ms');
  });

  it('stops text that keeps doubling', async () => {
    await expectRejection(evaluate('$reduce([1..40], function($text, $i){ $text & $text }, "x")'), `expression built a text longer than ${MAX_TEXT_LENGTH} characters`);
  });

  it('keeps its limits inside $eval', async () => {
    await expectRejection(evaluate(`$eval("${endlessTailRecursion}")`), 'expression ran longer than 100 ms');
    await expectRejection(evaluate('$eval("$count([1..5000000])")'), `more than ${MAX_LIST_LENGTH} items`);
  });

  it('sorts a long list in linear memory, with the results of JSONata’s own sort', async () => {
    // JSONata's built-in $sort is quadratic in memory: this list would exhaust the heap.
    const roomy = { timeoutMs: 2000, maxDepth: 200 };
    expect(await evaluate(`($sorted := $sort($reverse([1..${MAX_LIST_LENGTH}])); [$sorted[0], $sorted[-1]])`, {}, roomy)).toEqual([1, MAX_LIST_LENGTH]);
    expect(await evaluate('$sort(["b", "c", "a"])')).toEqual(['a', 'b', 'c']);
    // Stable, and the comparator returning true puts the second item first.
    const people = [
      { name: 'c', age: 2 },
      { name: 'a', age: 1 },
      { name: 'b', age: 2 },
      { name: 'd', age: 1 },
    ];
    expect(await evaluate('$sort(people, function($l, $r){ $l.age > $r.age }).name', { people })).toEqual(['a', 'd', 'c', 'b']);
    expect(await evaluate('people^(>age).name', { people })).toEqual(['c', 'b', 'a', 'd']);
    await expectRejection(evaluate('$sort([1, "a"])'), /can only be applied to an array of strings or an array of numbers/);
  });

  it('finds distinct items in one pass', async () => {
    expect(await evaluate('$distinct([1, "1", 1, {"a": 1, "b": [2]}, {"b": [2], "a": 1}, null, null])')).toEqual([1, '1', { a: 1, b: [2] }, null]);
    expect(await evaluate(`$count($distinct([1..${MAX_LIST_LENGTH}]))`, {}, { timeoutMs: 2000, maxDepth: 200 })).toBe(MAX_LIST_LENGTH);
  });

  it('runs regular expressions that backtrack for ever in JavaScript quickly, with the right result', async () => {
    // Each of these blocks V8's RegExp for minutes or more; on RE2 they take milliseconds.
    const backtrackers: Array<[string, unknown]> = [
      ["$contains($pad('', 3000, 'a'), /a*a*a*a*a*b/)", false],
      ["$contains($pad('', 32, 'a') & '!', /^(a|a)+$/)", false],
      ["$contains($pad('', 2000, 'a'), /(.*a){8}b/)", false],
      ["$contains($pad('', 2000, 'a') & 'b', /(.*a){8}b/)", true],
      ['$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)', undefined],
      ["$replace($pad('', 5000, 'a') & '!', /^(a|aa)+$/, 'x')", `${'a'.repeat(5000)}!`],
      ["$split($pad('', 3000, 'a'), /(a*)*b/)", ['a'.repeat(3000)]],
    ];
    for (const [source, expected] of backtrackers) {
      const started = Date.now();
      expect(await evaluate(source), source).toEqual(expected);
      expect(Date.now() - started, source).toBeLessThan(500);
    }
  });

  it('runs ordinary regular expressions as JavaScript does', async () => {
    expect(await evaluate('$replace(phone, /[^0-9]+/, "")', { phone: '+44 (20) 7946-0000' })).toBe('442079460000');
    expect(await evaluate('$split(tags, /\\s*,\\s*/)', { tags: 'a, b ,c' })).toEqual(['a', 'b', 'c']);
    expect(await evaluate('$match(email, /^([^@]+)@(.+)$/).groups', { email: 'ada@example.com' })).toEqual(['ada', 'example.com']);
    expect(await evaluate('$match(text, /(a)|(b)/)[1].groups', { text: 'ab' })).toEqual([null, 'b']);
    expect(await evaluate('$replace(name, /(\\w+)\\s(\\w+)/, "$2, $1")', { name: 'Ada Lovelace' })).toBe('Lovelace, Ada');
    expect(await evaluate('$contains(name, /lovelace$/i)', { name: 'Ada Lovelace' })).toBe(true);
    expect(await evaluate('$contains(text, /^b/m)', { text: 'a\nb' })).toBe(true);
    // JSONata's own guard against a search that never advances still applies.
    await expectRejection(evaluate('$match("abc", /x*/)'), /expression failed at character \d+: Regular expression matches zero length string/);
  });

  it('stops a regular expression that searches a very long text for longer than the time limit', async () => {
    // Each search is linear, but one $replace makes a search per match: two million of them take seconds.
    await expectRejection(evaluate('$replace(text, /a/, "b")', { text: 'a'.repeat(2_000_000) }), /^expression ran longer than 100 ms matching the regular expression \/a\//);
  });

  it('refuses a regular expression RE2 cannot run, naming it and saying why', async () => {
    await expectRejection(
      evaluate('$match(s, /(a)\\1/)', { s: 'aa' }),
      /^expression cannot run at character 17: the regular expression \/\(a\)\\1\/ uses a backreference \(\\1\); regular expressions use RE2 syntax, which has no backreferences or lookaround$/,
    );
    await expectRejection(evaluate('$contains(s, /a(?=b)/)', { s: 'ab' }), /the regular expression \/a\(\?=b\)\/ uses a lookahead/);
    await expectRejection(evaluate('$replace(s, /(?<!a)b/, "")', { s: 'ab' }), /the regular expression \/\(\?<!a\)b\/ uses a lookbehind/);
    // One built while the expression runs is refused when it is built.
    await expectRejection(evaluate('$eval("$contains(\'ab\', /a(?!b)/)")'), /^expression cannot run: the regular expression \/a\(\?!b\)\/ uses a lookahead/);
    expect(expressionProblem('$match(s, /(a)\\1/)')).toMatch(/^expression cannot run at character 17: the regular expression \/\(a\)\\1\/ uses a backreference/);
    expect(expressionProblem('$match(s, /(a)b/)')).toBeNull();
    expect(expressionProblem('(a')).toMatch(/^expression does not parse at character \d+/);
  });

  it('refuses such a regular expression when the flow is validated', () => {
    const document = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/fixtures/flows/leads.flow.json'), 'utf8')) as {
      nodes: Array<{ id: string; config: { ops?: Array<Record<string, unknown>> } }>;
    };
    const names = document.nodes.find((node) => node.id === 'names');
    const op = names?.config.ops?.[0];
    if (!op) throw new Error('the leads fixture has no expression op on "names"');
    op.forward = "$replace(first_name, /(\\w)\\1/, '$1') & ' ' & last_name";
    const errors = loadFlow(document).issues.filter((issue) => issue.severity === 'error').map(formatIssue);
    expect(errors).toEqual([
      'nodes[1].config.ops[0].forward: expression cannot run at character 29: the regular expression /(\\w)\\1/ uses a backreference (\\1); regular expressions use RE2 syntax, which has no backreferences or lookaround (node "names")',
    ]);
  });

  it('evaluates other expressions normally after a runaway', async () => {
    await expectRejection(evaluate(endlessRecursion), 'recursed deeper');
    await expectRejection(evaluate(endlessTailRecursion), 'ran longer');
    expect(await evaluate('a * 2', { a: 21 })).toBe(42);
    const countDown = '($f := function($n){ $n = 0 ? "done" : $f($n - 1) }; $f(n))';
    expect(await evaluate(countDown, { n: 5 })).toBe('done');
  });

  it('stops runaways that run at the same time, and charges quick ones only for their own time', async () => {
    const started = Date.now();
    const quick = Array.from({ length: 200 }, (_, index) => evaluate('n * 2', { n: index }));
    const outcomes = await Promise.allSettled([evaluate(endlessTailRecursion), evaluate(endlessTailRecursion), ...quick]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcomes.slice(0, 2).map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(outcomes.slice(2)).toEqual(quick.map((_, index) => ({ status: 'fulfilled', value: index * 2 })));
  });

  it('keeps a separate budget for each evaluation of the same expression', async () => {
    const countDown = '($f := function($n){ $n = 0 ? "done" : $f($n - 1) }; $f(n))';
    const [runaway, quick] = await Promise.allSettled([evaluate(countDown, { n: -1 }), evaluate(countDown, { n: 3 })]);
    expect(runaway.status).toBe('rejected');
    expect(quick).toEqual({ status: 'fulfilled', value: 'done' });
    // Evaluations one after another each get the full time limit.
    for (let run = 0; run < 3; run += 1) expect(await evaluate(countDown, { n: 1000 })).toBe('done');
  });
});

describe('the compiled-expression cache', () => {
  it('compiles each expression once', async () => {
    const source = `a + ${Math.random()}`;
    const before = compiledExpressionCount();
    await evaluate(source, { a: 1 });
    await evaluate(source, { a: 2 });
    await evaluate(source, { a: 3 });
    expect(compiledExpressionCount()).toBe(Math.min(before + 1, MAX_CACHED_EXPRESSIONS));
  });

  it('compiles an expression apart for different limits', async () => {
    const source = `b + ${Math.random()}`;
    const before = compiledExpressionCount();
    await evaluate(source, { b: 1 });
    await evaluate(source, { b: 1 }, { timeoutMs: 50, maxDepth: 50 });
    expect(compiledExpressionCount()).toBe(Math.min(before + 2, MAX_CACHED_EXPRESSIONS));
  });

  it('stays bounded', async () => {
    for (let index = 0; index < MAX_CACHED_EXPRESSIONS + 25; index += 1) {
      expect(await evaluate(`${index} + 1`)).toBe(index + 1);
    }
    expect(compiledExpressionCount()).toBe(MAX_CACHED_EXPRESSIONS);
    // Evicted expressions compile again on demand.
    expect(await evaluate('0 + 1')).toBe(1);
  });
});
