/**
 * @module proto/presentation
 * The one tokenizer of DNS presentation text (RFC 1035 §5.1): blanks separate tokens, `"…"`
 * makes one token of anything but a newline, a backslash escapes the character after it (`\X`,
 * and the `\DDD` decimal form), `;` starts a comment and `(` … `)` continue an entry over lines.
 *
 * Owns only the splitting. Quotes are removed; backslash escapes are kept, quoted or not, for
 * the readers of each token to interpret (names in proto/name.ts, character-strings in
 * proto/rdata.ts); a token says whether it was quoted, since a quoted `"\#"` is not RFC 3597's
 * generic-form marker. Like the rest of src/proto/, it imports nothing else of src/.
 *
 * Two profiles, one scanner:
 *   - {@link MASTER_FILE_LINE}: one line of a master file (zone/master-file.ts). Blanks are
 *     space and tab; `;`, `(` and `)` are special outside quotes and end an unquoted token.
 *   - {@link RDATA_TEXT}: one RDATA string of the YAML zone format (proto/rdata.ts
 *     parseRdataText). Newlines are blanks too; `;`, `(` and `)` are ordinary characters.
 */

/** One token: its text with quotes removed and escapes kept. */
export interface PresentationToken {
  readonly text: string;
  /** It was written in double quotes. */
  readonly quoted: boolean;
}

/** What the scanner finds, in order: tokens, and (in entry syntax) the parentheses. */
export type PresentationItem = ({ readonly kind: 'token' } & PresentationToken) | { readonly kind: '(' } | { readonly kind: ')' };

/** How to scan. */
export interface PresentationSyntax {
  /** The characters that separate tokens. */
  readonly blanks: string;
  /** `;` starts a comment and `(`, `)` are returned as items (a master-file line). */
  readonly entrySyntax: boolean;
}

/** A line of a master file (RFC 1035 §5.1): blanks are space and tab; comments and parentheses count. */
export const MASTER_FILE_LINE: PresentationSyntax = { blanks: ' \t', entrySyntax: true };
/** A single RDATA string: any whitespace separates; `;`, `(` and `)` are plain characters. */
export const RDATA_TEXT: PresentationSyntax = { blanks: ' \t\n\r', entrySyntax: false };

export interface PresentationScan {
  readonly items: PresentationItem[];
  /** Where the content ends: the index of the comment's `;`, or the text's length. */
  readonly contentEnd: number;
  /** A quote opened and never closed; `items` holds what came before it. */
  readonly unclosedQuote: boolean;
}

/** Splits `text` into tokens (and parentheses, in entry syntax). */
export function scanPresentation(text: string, syntax: PresentationSyntax): PresentationScan {
  const items: PresentationItem[] = [];
  const n = text.length;
  const isBlank = (c: string): boolean => syntax.blanks.includes(c);
  const endsToken = (c: string): boolean => isBlank(c) || c === '"' || (syntax.entrySyntax && (c === ';' || c === '(' || c === ')'));
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (isBlank(c)) {
      i++;
    } else if (syntax.entrySyntax && c === ';') {
      return { items, contentEnd: i, unclosedQuote: false };
    } else if (syntax.entrySyntax && (c === '(' || c === ')')) {
      items.push({ kind: c });
      i++;
    } else if (c === '"') {
      let tok = '';
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) tok += text[i++];
        tok += text[i++];
      }
      if (i >= n) return { items, contentEnd: n, unclosedQuote: true };
      i++; // closing quote
      items.push({ kind: 'token', text: tok, quoted: true });
    } else {
      let tok = '';
      while (i < n && !endsToken(text[i]!)) {
        if (text[i] === '\\' && i + 1 < n) tok += text[i++];
        tok += text[i++];
      }
      items.push({ kind: 'token', text: tok, quoted: false });
    }
  }
  return { items, contentEnd: n, unclosedQuote: false };
}
