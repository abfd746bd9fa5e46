import { describe, expect, it } from 'vitest';
import { maxExcerptLength, plainExcerpt, responseExcerpt } from './excerpt';

describe('response excerpts', () => {
  it('keeps a short plain answer as it is, quoted', () => {
    expect(responseExcerpt('Service Unavailable')).toBe('"Service Unavailable"');
    expect(responseExcerpt('   \n\t ')).toBe('');
  });

  it('drops markup, scripts, styles and comments, keeping the words', () => {
    const page = '<!DOCTYPE html><html><head><style>body{color:red}</style><script>alert("x")</script></head><body><h1>Maintenance</h1><!-- internal: 10.0.0.5 --><p>Back &amp; soon</p></body></html>';
    expect(responseExcerpt(page)).toBe('"Maintenance Back &amp; soon"');
    expect(plainExcerpt('<img src=x onerror=alert(1)>a < b > c')).toBe('a c');
    expect(plainExcerpt('1 < 2 and 3 > 2')).toBe('1 2 and 3 2');
  });

  it('strips control characters, escape sequences and text-direction tricks', () => {
    const excerpt = plainExcerpt('ok\u0000\u001b[31mred\u001b[0m\r\nnext\u202eevil\u2066\u200bend\u2028line');
    expect(excerpt).not.toMatch(/[\p{Cc}\p{Cf}\u2028]/u);
    expect(excerpt).toBe('ok [31mred [0m next evil end line');
  });

  it(`cuts a long answer to ${maxExcerptLength} characters, counting characters rather than code units`, () => {
    const excerpt = plainExcerpt('😀'.repeat(1000));
    expect([...excerpt]).toHaveLength(maxExcerptLength);
    expect(excerpt.endsWith('…')).toBe(true);
    expect(responseExcerpt('x'.repeat(100_000)).length).toBeLessThanOrEqual(maxExcerptLength + 2);
  });
});
