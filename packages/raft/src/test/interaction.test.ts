/**
 * Runs every interaction script in src/testdata (see interaction.ts for the format and the
 * commands). With REWRITE=1 the expected outputs are rewritten instead of compared.
 */

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatScript, parseScript, runScript } from './interaction.js';

const TESTDATA = new URL('../testdata/', import.meta.url);
const REWRITE = process.env.REWRITE === '1';

describe('interaction scripts', () => {
  const files = readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.txt'))
    .sort();

  it('finds the scripts', () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  for (const file of files) {
    it(file, () => {
      const url = new URL(file, TESTDATA);
      const source = readFileSync(url, 'utf8');
      const result = runScript(source);
      if (REWRITE) {
        if (result.rewritten !== source) writeFileSync(url, result.rewritten);
        return;
      }
      for (const b of result.blocks) {
        expect(b.actual, `${file}:${b.line}: ${b.command}`).toBe(b.expected);
      }
    });
  }
});

describe('the script runner', () => {
  const script = [
    '# a comment',
    '',
    'add-nodes 1 voters=(1)',
    '----',
    '1: voters=(1) term=0 committed=0 applied=0 last=0',
    '',
    'raft-state',
    '----',
    'not what happens',
    '',
  ].join('\n');

  it('keeps comments and blank lines when formatting a script back', () => {
    const segments = parseScript(script);
    expect(segments.filter((s) => s.kind === 'block').map((s) => s.kind === 'block' && s.command)).toEqual([
      'add-nodes 1 voters=(1)',
      'raft-state',
    ]);
    const expected = segments.flatMap((s) => (s.kind === 'block' ? [s.expected] : []));
    expect(formatScript(segments, expected)).toBe(script);
  });

  it('reports a block whose output differs, and rewrites only that block', () => {
    const r = runScript(script);
    expect(r.blocks[0]!.actual).toBe(r.blocks[0]!.expected);
    expect(r.blocks[1]!.actual).toBe('1: StateFollower (Voter) Term:0 Lead:0');
    expect(r.blocks[1]!.actual).not.toBe(r.blocks[1]!.expected);
    expect(r.rewritten).toBe(script.replace('not what happens', '1: StateFollower (Voter) Term:0 Lead:0'));
  });

  it('fails on an unknown command or a missing separator, naming the line', () => {
    expect(() => runScript('bogus-command\n----\nok\n')).toThrow(/line 1: bogus-command/);
    expect(() => runScript('raft-state\nok\n')).toThrow(/line 1/);
  });

  it('prints refusals of the API as part of the output', () => {
    const r = runScript('add-nodes 1 voters=(1)\n----\nx\n\npropose 1 foo\n----\nx\n');
    expect(r.blocks[1]!.actual).toBe('error: ProposalDroppedError: raft proposal dropped: no leader');
  });
});
