/**
 * Runs the demo's scenario (demo.ts) silently and checks its final state: the crash forced a
 * second election won by another node in a later term, and every node — including the one that
 * crashed and caught up — applied exactly the same entries and holds the same key-value state.
 */

import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';

describe('raft demo', () => {
  const lines: string[] = [];
  const result = runDemo({ log: (line) => lines.push(line) });

  it('passes its own consistency check', () => {
    expect(result.consistent).toBe(true);
    expect(lines.at(-1)).toMatch(/^✓ every node applied the same \d+ entries/);
  });

  it('elects a second leader, in a later term, after the first one crashes', () => {
    expect(result.leaders.length).toBeGreaterThanOrEqual(2);
    const [first, second] = result.leaders;
    expect(first!.id).toBe(result.crashed);
    expect(second!.id).not.toBe(result.crashed);
    expect(second!.term).toBeGreaterThan(first!.term);
  });

  it('leaves every node with the same entries and state, the restarted one included', () => {
    const [reference, ...others] = result.nodes;
    expect(reference!.entries.map((e) => e.index)).toEqual(reference!.entries.map((_, i) => i + 1));
    for (const n of others) {
      expect(n.entries).toEqual(reference!.entries);
      expect(n.kv).toEqual(reference!.kv);
    }
    expect(reference!.kv).toEqual({ done: 'yes', x: '5', z: '4' });
    const commands = reference!.entries.map((e) => e.command).filter((c) => c !== '');
    expect(commands).toEqual([
      'set x=1',
      'set y=2',
      'set x=3',
      'set z=4',
      'del y',
      'set x=5',
      'set done=yes',
    ]);
  });

  it('tells the story of the restart', () => {
    const crashed = result.crashed;
    expect(lines.some((l) => l.includes(`crashing leader ${crashed}`))).toBe(true);
    expect(lines.some((l) => l.includes(`node ${crashed} replayed indexes 1–`))).toBe(true);
    expect(lines.some((l) => l.includes(`node ${crashed} caught up`))).toBe(true);
  });
});
