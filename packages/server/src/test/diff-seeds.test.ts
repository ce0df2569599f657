/** The differential tests' run settings, read from the environment. */

import { describe, expect, it } from 'vitest';
import { diffSeeds, diffSettings } from './diff-seeds.js';

describe('diffSeeds and diffSettings', () => {
  it('takes ranges and lists of seeds, else the CI seeds', () => {
    expect(diffSeeds('1..3,7', [9])).toEqual([1, 2, 3, 7]);
    expect(diffSeeds(' 4 .. 5 ', [9])).toEqual([4, 5]);
    expect(diffSeeds(undefined, [9])).toEqual([9]);
    expect(diffSeeds('  ', [9])).toEqual([9]);
  });

  it('reads ops, continue and trace, with the defaults of the test', () => {
    expect(diffSettings([1, 2], 40, {})).toEqual({
      seeds: [1, 2],
      ops: 40,
      continueOnMismatch: false,
      trace: false,
    });
    expect(
      diffSettings([1], 40, { DIFF_SEEDS: '5', DIFF_OPS: '7', DIFF_CONTINUE: '1', DIFF_TRACE: '1' }),
    ).toEqual({ seeds: [5], ops: 7, continueOnMismatch: true, trace: true });
  });
});
