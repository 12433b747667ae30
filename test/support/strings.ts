/**
 * Exhaustive inputs for differential tests (a parser against the one it replaced): every string
 * of up to `maxLength` characters over `alphabet`, after the hand-picked ones, each once.
 */
export function allStrings(alphabet: readonly string[], maxLength: number, picked: readonly string[] = []): string[] {
  const all = new Set(picked);
  let layer = [''];
  all.add('');
  for (let len = 1; len <= maxLength; len++) {
    layer = layer.flatMap((p) => alphabet.map((c) => p + c));
    for (const s of layer) all.add(s);
  }
  return [...all];
}
