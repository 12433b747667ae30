/**
 * The shared presentation tokenizer (proto/presentation.ts, RFC 1035 §5.1): what each profile
 * makes of quotes, escapes (`\X`, `\DDD`), parentheses and comments, and a differential check
 * against the two tokenizers it replaced (zone/master-file.ts's line loop, proto/rdata.ts's).
 */
import { describe, expect, it } from 'vitest';
import { MASTER_FILE_LINE, RDATA_TEXT, scanPresentation, type PresentationItem } from './presentation.js';
import { allStrings } from '../../test/support/strings.js';

/** Items as short strings: `(`, `)`, a token as its text, a quoted one as `"text"`. */
const show = (items: readonly PresentationItem[]): string[] => items.map((t) => (t.kind === 'token' ? (t.quoted ? `"${t.text}"` : t.text) : t.kind));

// The tokenizers as they were before they were merged, kept here as the oracle.
const before = {
  /** zone/master-file.ts lex(), one line (items, where the content ends, unclosed quote). */
  line(src: string): { items: string[]; contentEnd: number; unclosedQuote: boolean } {
    const isBlank = (c: string): boolean => c === ' ' || c === '\t';
    const items: string[] = [];
    let contentEnd = src.length;
    let unclosedQuote = false;
    let i = 0;
    while (i < src.length) {
      const c = src[i]!;
      if (isBlank(c)) {
        i++;
      } else if (c === ';') {
        contentEnd = i;
        break;
      } else if (c === '(' || c === ')') {
        items.push(c);
        i++;
      } else if (c === '"') {
        let tok = '';
        i++;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\' && i + 1 < src.length) tok += src[i++];
          tok += src[i++];
        }
        if (i >= src.length) {
          unclosedQuote = true;
          break;
        }
        i++;
        items.push(`"${tok}"`);
      } else {
        let tok = '';
        while (i < src.length) {
          const d = src[i]!;
          if (isBlank(d) || d === ';' || d === '(' || d === ')' || d === '"') break;
          if (d === '\\' && i + 1 < src.length) tok += src[i++];
          tok += src[i++];
        }
        items.push(tok);
      }
    }
    return { items, contentEnd, unclosedQuote };
  },
  /** proto/rdata.ts tokenizeRdataText() before quotedToken(); `null` for its unclosed-quote error. */
  rdata(text: string): string[] | null {
    const tokens: string[] = [];
    let i = 0;
    const n = text.length;
    // One character of a token, or a backslash and the character it escapes.
    const next = (): string => (text[i] === '\\' && i + 1 < n ? text[i++]! + text[i++]! : text[i++]!);
    while (i < n) {
      const c = text[i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        i++;
      } else if (c === '"') {
        let tok = '';
        i++;
        for (;;) {
          if (i >= n) return null;
          if (text[i] === '"') break;
          tok += next();
        }
        i++;
        tokens.push(`"${tok}"`);
      } else {
        let tok = '';
        while (i < n && !' \t\n\r"'.includes(text[i]!)) tok += next();
        tokens.push(tok);
      }
    }
    return tokens;
  },
};

/** Some longer lines, then every string of up to 5 characters over the characters that matter. */
const inputs = (): string[] =>
  allStrings(['a', ' ', '\t', '\n', '\r', '"', '\\', ';', '(', ')'], 5, [
    'www 3600 IN A 192.0.2.1',
    '@ SOA ns host ( 1 2 3 4 5 ) ; c',
    'x TXT "a \\"b\\" c" \\065\\032d',
    '"unclosed \\"',
    'a\\ b "c;d" (e) ;f"g',
  ]);

describe('the presentation tokenizer', () => {
  it.each([
    ['blanks separate tokens', 'www  3600\tIN A 192.0.2.1', ['www', '3600', 'IN', 'A', '192.0.2.1'], null],
    ['quotes make one token, removed; escapes are kept', 'x TXT "a \\"b\\" c" d', ['x', 'TXT', '"a \\"b\\" c"', 'd'], null],
    ['\\DDD and \\X escapes stay in the token (RFC 1035 §5.1)', 'a\\032b c\\.d \\#', ['a\\032b', 'c\\.d', '\\#'], null],
    ['an escaped blank does not split', 'a\\ b', ['a\\ b'], null],
    ['a trailing backslash is kept as is', 'a\\', ['a\\'], null],
    ['parentheses are items and end a token', 'SOA (1 2)3', ['SOA', '(', '1', '2', ')', '3'], null],
    ['a comment ends the content', 'A 192.0.2.1 ; "not a quote', ['A', '192.0.2.1'], 12],
    ['; ( ) inside quotes are text', '"a;b(c)"', ['"a;b(c)"'], null],
    ['a quote ends an unquoted token', 'ab"c"', ['ab', '"c"'], null],
    ['an empty quoted string is a token', '""', ['""'], null],
  ])('master-file line: %s', (_name, text, items, contentEnd) => {
    const scan = scanPresentation(text, MASTER_FILE_LINE);
    expect(show(scan.items)).toEqual(items);
    expect(scan.contentEnd).toBe(contentEnd ?? text.length);
    expect(scan.unclosedQuote).toBe(false);
  });

  it('master-file line: an unclosed quote is reported with what came before it', () => {
    expect(scanPresentation('x TXT "a ; b', MASTER_FILE_LINE)).toEqual({
      items: [
        { kind: 'token', text: 'x', quoted: false },
        { kind: 'token', text: 'TXT', quoted: false },
      ],
      contentEnd: 12,
      unclosedQuote: true,
    });
    expect(scanPresentation('"a\\"', MASTER_FILE_LINE).unclosedQuote).toBe(true);
  });

  it.each([
    ['newlines separate tokens', '10\nmail\r\n', ['10', 'mail']],
    ['; ( ) are ordinary characters', 'a;b (c) ;', ['a;b', '(c)', ';']],
    ['a quoted string may span lines', '"a\nb" c', ['"a\nb"', 'c']],
    ['escapes are kept', '"\\"" \\"x', ['"\\""', '\\"x']],
  ])('RDATA text: %s', (_name, text, items) => {
    const scan = scanPresentation(text, RDATA_TEXT);
    expect(show(scan.items)).toEqual(items);
    expect(scan.unclosedQuote).toBe(false);
  });

  it('splits every short input exactly as the two old tokenizers did', () => {
    const cases = inputs();
    expect(cases.length).toBeGreaterThan(100_000);
    const lineDiffer: string[] = [];
    const rdataDiffer: string[] = [];
    for (const text of cases) {
      if (!text.includes('\n')) {
        const s = scanPresentation(text, MASTER_FILE_LINE);
        const mine = { items: show(s.items), contentEnd: s.contentEnd, unclosedQuote: s.unclosedQuote };
        const old = before.line(text);
        // An unclosed quote leaves the line broken; the tokens before it are all the lexer keeps.
        if (JSON.stringify(mine) !== JSON.stringify(old)) lineDiffer.push(JSON.stringify(text));
      }
      const r = scanPresentation(text, RDATA_TEXT);
      const mine = r.unclosedQuote ? null : show(r.items);
      if (JSON.stringify(mine) !== JSON.stringify(before.rdata(text))) rdataDiffer.push(JSON.stringify(text));
    }
    expect(lineDiffer.slice(0, 10)).toEqual([]);
    expect(rdataDiffer.slice(0, 10)).toEqual([]);
  });
});
