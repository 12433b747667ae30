/**
 * @module proto/name
 * Domain names in the three forms Meridian uses, and the conversions between them.
 *
 * - **labels**: `Buffer[]`, the raw label bytes in their original case (root = `[]`).
 * - **wire**: RFC 1035 §3.1 uncompressed encoding, length-prefixed labels ending in a zero byte.
 * - **key**: the canonical string used for every lookup. Lowercase (RFC 4343: comparisons are
 *   case-insensitive for ASCII only), absolute, no trailing dot, the root is `''`. Inside a label,
 *   `.` is written `\.`, `\` is written `\\`, and bytes outside 0x21–0x7e are written `\DDD`, so
 *   that the key is unambiguous. The key is never re-parsed as a master file; it is only compared,
 *   split and turned back into wire form.
 *
 * Zone parsers, the query parser and the encoder all call this module so they agree on the key.
 */

/** RFC 1035 §2.3.4: labels are 63 octets or less. */
export const MAX_LABEL_LENGTH = 63;
/** RFC 1035 §2.3.4: names are 255 octets or less, counted in wire form. */
export const MAX_NAME_LENGTH = 255;

/** Thrown for a name that cannot exist in DNS; callers wrap it with their own context. */
export class NameError extends Error {
  override name = 'NameError';
}

function isPlain(byte: number): boolean {
  // Bytes that stand for themselves in a key (after lowercasing).
  return byte > 0x20 && byte < 0x7f && byte !== 0x2e && byte !== 0x5c;
}

/** Appends one label's key form (lowercased, escaped) to `out`. */
export function labelToKey(buf: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    let b = buf[i]!;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (isPlain(b)) out += String.fromCharCode(b);
    else if (b === 0x2e || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else out += '\\' + String(b).padStart(3, '0');
  }
  return out;
}

/** Returns the key for a list of labels. */
export function labelsToKey(labels: readonly Uint8Array[]): string {
  return labels.map((l) => labelToKey(l, 0, l.length)).join('.');
}

/**
 * Splits a key into its labels' bytes (lowercase, since keys are).
 * The inverse of {@link labelsToKey}.
 */
export function keyToLabels(key: string): Buffer[] {
  if (key === '') return [];
  const labels: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x5c) {
      const next = key.charCodeAt(i + 1);
      if (next >= 0x30 && next <= 0x39) {
        cur.push(Number(key.slice(i + 1, i + 4)));
        i += 3;
      } else {
        cur.push(next);
        i += 1;
      }
    } else if (c === 0x2e) {
      labels.push(Buffer.from(cur));
      cur = [];
    } else {
      cur.push(c);
    }
  }
  labels.push(Buffer.from(cur));
  return labels;
}

/** Encodes labels in RFC 1035 §3.1 wire form (no compression). */
export function labelsToWire(labels: readonly Uint8Array[]): Buffer {
  let len = 1;
  for (const l of labels) len += l.length + 1;
  const out = Buffer.allocUnsafe(len);
  let o = 0;
  for (const l of labels) {
    out[o++] = l.length;
    out.set(l, o);
    o += l.length;
  }
  out[o] = 0;
  return out;
}

/** Encodes a key in wire form (lowercase, no compression). */
export function keyToWire(key: string): Buffer {
  return labelsToWire(keyToLabels(key));
}

/** Splits a key into label keys without unescaping: `'a\.b.example'` → `['a\.b', 'example']`. */
export function splitKey(key: string): string[] {
  if (key === '') return [];
  if (!key.includes('\\')) return key.split('.');
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x5c) {
      i += key.charCodeAt(i + 1) >= 0x30 && key.charCodeAt(i + 1) <= 0x39 ? 3 : 1;
    } else if (c === 0x2e) {
      parts.push(key.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(key.slice(start));
  return parts;
}

/** The key of the parent name, or `null` for the root. */
export function parentKey(key: string): string | null {
  if (key === '') return null;
  const parts = splitKey(key);
  return parts.slice(1).join('.');
}

/** True when `key` equals `ancestor` or lies below it. */
export function isAtOrBelow(key: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  if (key === ancestor) return true;
  if (!key.endsWith('.' + ancestor)) return false;
  // Make sure the dot we matched is a label separator, not an escaped `\.`.
  const cut = key.length - ancestor.length - 1;
  let backslashes = 0;
  for (let i = cut - 1; i >= 0 && key.charCodeAt(i) === 0x5c; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** Number of labels in a key. */
export function labelCount(key: string): number {
  return splitKey(key).length;
}

/**
 * Parses a name in master-file presentation form (RFC 1035 §5.1) into labels, keeping case.
 * A name not ending in `.` is relative to `origin` (a key); `@` is the origin itself.
 * Supports `\X` and `\DDD` escapes. Throws {@link NameError} for empty labels, a label over
 * 63 octets or a name over 255 octets.
 */
export function parsePresentationName(text: string, origin: string | null): Buffer[] {
  if (text === '@') {
    if (origin === null) throw new NameError('"@" used with no origin set');
    return keyToLabels(origin);
  }
  if (text === '.') return [];
  const labels: Buffer[] = [];
  let cur: number[] = [];
  let absolute = false;
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x5c) {
      const d1 = bytes[i + 1];
      if (d1 === undefined) throw new NameError(`name "${text}" ends with a lone backslash`);
      if (d1 >= 0x30 && d1 <= 0x39) {
        const digits = bytes.subarray(i + 1, i + 4).toString('latin1');
        if (!/^[0-9]{3}$/.test(digits) || Number(digits) > 255) {
          throw new NameError(`name "${text}" has a bad \\DDD escape`);
        }
        cur.push(Number(digits));
        i += 3;
      } else {
        cur.push(d1);
        i += 1;
      }
    } else if (c === 0x2e) {
      if (cur.length === 0) throw new NameError(`name "${text}" has an empty label`);
      labels.push(Buffer.from(cur));
      cur = [];
      if (i === bytes.length - 1) absolute = true;
    } else {
      cur.push(c);
    }
  }
  if (!absolute) {
    if (cur.length === 0) throw new NameError(`name "${text}" has an empty label`);
    labels.push(Buffer.from(cur));
    if (origin === null) throw new NameError(`relative name "${text}" used with no origin set`);
    labels.push(...keyToLabels(origin));
  }
  checkLabels(labels, text);
  return labels;
}

/** Parses a presentation name straight to its key. */
export function presentationToKey(text: string, origin: string | null): string {
  return labelsToKey(parsePresentationName(text, origin));
}

/** Throws {@link NameError} when labels break the RFC 1035 §2.3.4 size limits. */
export function checkLabels(labels: readonly Uint8Array[], shown: string): void {
  let wire = 1;
  for (const l of labels) {
    if (l.length > MAX_LABEL_LENGTH) throw new NameError(`name "${shown}" has a label over 63 octets`);
    wire += l.length + 1;
  }
  if (wire > MAX_NAME_LENGTH) throw new NameError(`name "${shown}" is over 255 octets`);
}

/** Presentation form of a key, with a trailing dot (`''` → `.`). */
export function keyToPresentation(key: string): string {
  return key === '' ? '.' : key + '.';
}
