import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles from the base up to the cap, within [half, all] of each step, and resets on success', () => {
    const lo = new Backoff(100, 1000, () => 0);
    const hi = new Backoff(100, 1000, () => 1);
    const floors = Array.from({ length: 7 }, () => lo.next());
    const ceilings = Array.from({ length: 7 }, () => hi.next());
    expect(floors).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(hi.failures).toBe(7);
    hi.reset();
    expect(hi.failures).toBe(0);
    expect(hi.next()).toBe(100);
  });

  it('spreads the waits of processes that failed together (jitter)', () => {
    const waits = new Set(Array.from({ length: 20 }, () => new Backoff(1000, 30_000).next()));
    expect(waits.size).toBeGreaterThan(1);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(500);
  });

  it('refuses a cap below the base', () => {
    expect(() => new Backoff(100, 50)).toThrow(RangeError);
  });
});
