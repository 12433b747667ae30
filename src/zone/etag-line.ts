/**
 * @module zone/etag-line
 * The `meridian-etag` line: the first line of a zone text that `meridian ctl zones get|export`
 * (and `meridian cluster export`) write, recording the ETag of the revision the text was read
 * from, so that applying an edited copy can send it as `If-Match` (RFC 9110 §13.1.1) and a change
 * made in between is refused instead of overwritten.
 *
 *   # meridian-etag: "2026112401-4b37aa33bffc"     (YAML)
 *   ; meridian-etag: "2026112401-4b37aa33bffc"     (RFC 1035 master file, §5.1: `;` starts a comment)
 *
 * It is a comment in both formats, so a file that carries it still loads anywhere; whoever
 * applies or imports the text strips it first, so the text stored is exactly the text read.
 */

const LINE = /^([#;]) ?meridian-etag: *("[^"\r\n]*")[ \t]*\r?\n/;

/** `text` with an etag line for `etag` in front (`#` for YAML, `;` for a master file). */
export function withEtagLine(text: string, etag: string, kind: 'yaml' | 'master'): string {
  return `${kind === 'yaml' ? '#' : ';'} meridian-etag: ${etag}\n${text}`;
}

export interface SplitText {
  /** The ETag the line names, or null when the text has no etag line. */
  readonly etag: string | null;
  /** The format the line's comment character says (`#` YAML, `;` master file), or null. */
  readonly kind: 'yaml' | 'master' | null;
  /** The text without the line, byte for byte what followed it. */
  readonly text: string;
}

/** Splits a leading etag line off a zone text; a text without one comes back unchanged. */
export function splitEtagLine(text: string): SplitText {
  const m = LINE.exec(text.startsWith('\uFEFF') ? text.slice(1) : text);
  if (!m) return { etag: null, kind: null, text };
  const rest = text.slice((text.startsWith('\uFEFF') ? 1 : 0) + m[0].length);
  return { etag: m[2]!, kind: m[1] === '#' ? 'yaml' : 'master', text: rest };
}
