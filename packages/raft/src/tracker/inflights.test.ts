/**
 * Inflights: the bounded window of unacknowledged appends — add, free in order, wrap around the
 * ring, and the count and byte limits that make it full.
 */

import { describe, expect, it } from 'vitest';
import { seededRandom } from '../rand.js';
import type { Index } from '../types.js';
import { Inflights } from './inflights.js';

const ix = (n: number) => n as Index;

describe('Inflights', () => {
  it('fills up after `size` adds and refuses one more', () => {
    const in_ = new Inflights(3, 0);
    expect(in_.full()).toBe(false);
    in_.add(ix(1), 10);
    in_.add(ix(2), 10);
    expect(in_.full()).toBe(false);
    in_.add(ix(3), 10);
    expect(in_.length).toBe(3);
    expect(in_.full()).toBe(true);
    expect(() => in_.add(ix(4), 10)).toThrow(RangeError);
  });

  it('frees every append whose last index is <= to, and nothing below the first', () => {
    const in_ = new Inflights(10, 0);
    for (let i = 1; i <= 5; i++) in_.add(ix(i * 2), 1); // 2 4 6 8 10
    in_.freeLE(ix(1));
    expect(in_.length).toBe(5);
    in_.freeLE(ix(5)); // frees 2, 4
    expect(in_.length).toBe(3);
    in_.freeLE(ix(6)); // frees 6
    expect(in_.length).toBe(2);
    in_.freeLE(ix(6)); // idempotent
    expect(in_.length).toBe(2);
    in_.freeLE(ix(100));
    expect(in_.length).toBe(0);
    in_.freeLE(ix(200)); // on an empty window
    expect(in_.length).toBe(0);
  });

  it('wraps around the ring buffer and keeps FIFO order', () => {
    const in_ = new Inflights(4, 0);
    for (let i = 1; i <= 4; i++) in_.add(ix(i), 1);
    in_.freeLE(ix(2)); // [3 4]
    in_.add(ix(5), 1);
    in_.add(ix(6), 1); // wrapped: [3 4 5 6]
    expect(in_.full()).toBe(true);
    in_.freeLE(ix(4)); // [5 6]
    expect(in_.length).toBe(2);
    expect(in_.full()).toBe(false);
    in_.add(ix(7), 1);
    in_.add(ix(8), 1);
    expect(in_.full()).toBe(true);
    in_.freeLE(ix(7)); // [8]
    expect(in_.length).toBe(1);
    in_.freeLE(ix(8));
    expect(in_.length).toBe(0);
  });

  it('is full once the bytes in flight reach maxBytes, and frees bytes with the appends', () => {
    const in_ = new Inflights(10, 100);
    in_.add(ix(1), 40);
    in_.add(ix(2), 40);
    expect(in_.full()).toBe(false); // 80 < 100
    in_.add(ix(3), 20);
    expect(in_.full()).toBe(true); // 100 >= 100
    in_.freeLE(ix(1));
    expect(in_.full()).toBe(false); // 60
    in_.add(ix(4), 500); // one large append may overshoot: the window only stops the next one
    expect(in_.full()).toBe(true);
    in_.freeLE(ix(3));
    expect(in_.full()).toBe(true); // 500 still in flight
    in_.freeLE(ix(4));
    expect(in_.full()).toBe(false);
    expect(in_.length).toBe(0);
  });

  it('treats maxBytes 0 as unlimited', () => {
    const in_ = new Inflights(2, 0);
    in_.add(ix(1), 1e9);
    expect(in_.full()).toBe(false);
  });

  it('reset forgets everything, including bytes', () => {
    const in_ = new Inflights(2, 10);
    in_.add(ix(1), 10);
    expect(in_.full()).toBe(true);
    in_.reset();
    expect(in_.length).toBe(0);
    expect(in_.full()).toBe(false);
    in_.add(ix(7), 5);
    in_.freeLE(ix(6));
    expect(in_.length).toBe(1);
  });

  it('matches a plain array model over random add/free sequences', () => {
    const rand = seededRandom(42);
    for (let trial = 0; trial < 100; trial++) {
      const size = 1 + rand(6);
      const maxBytes = rand(2) === 0 ? 0 : 1 + rand(50);
      const in_ = new Inflights(size, maxBytes);
      const model: { index: number; bytes: number }[] = [];
      let last = 0;
      const modelFull = () =>
        model.length === size || (maxBytes !== 0 && model.reduce((s, e) => s + e.bytes, 0) >= maxBytes);
      for (let step = 0; step < 100; step++) {
        if (rand(2) === 0 && !modelFull()) {
          last += 1 + rand(3);
          const bytes = rand(20);
          in_.add(ix(last), bytes);
          model.push({ index: last, bytes });
        } else {
          const to = last - rand(8);
          in_.freeLE(ix(Math.max(0, to)));
          while (model.length > 0 && model[0]!.index <= to) model.shift();
        }
        expect(in_.length).toBe(model.length);
        expect(in_.full()).toBe(modelFull());
      }
    }
  });
});
