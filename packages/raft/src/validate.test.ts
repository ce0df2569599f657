import { describe, expect, it } from 'vitest';
import type { Message } from './messages.js';
import { type Index, NONE, type Term } from './types.js';
import { InvalidMessageError, validateMessage } from './validate.js';

const app: Message = {
  type: 'MsgApp',
  from: 1n,
  to: 2n,
  term: 3 as Term,
  index: 4 as Index,
  logTerm: 2 as Term,
  commit: 4 as Index,
  entries: [
    { type: 'EntryNormal', term: 3 as Term, index: 5 as Index, data: new Uint8Array([1, 2]) },
    {
      type: 'EntryConfChange',
      term: 3 as Term,
      index: 6 as Index,
      change: {
        transition: 'auto',
        changes: [{ type: 'ConfChangeAddNode', nodeId: 4n }],
        context: new Uint8Array(),
      },
    },
  ],
};

describe('validateMessage', () => {
  it('accepts a well-formed message and returns the same fields', () => {
    expect(validateMessage(app)).toEqual(app);
  });

  it('drops fields that do not belong to the message type', () => {
    const m = validateMessage({ type: 'MsgTimeoutNow', from: 1n, to: 2n, term: 1, extra: 'x' });
    expect(m).toEqual({ type: 'MsgTimeoutNow', from: 1n, to: 2n, term: 1 });
  });

  it.each([
    ['an unknown type', { ...app, type: 'MsgHup' }, 'message.type'],
    ['a fractional term', { ...app, term: 1.5 }, 'message.term'],
    ['a negative index', { ...app, index: -1 }, 'message.index'],
    ['a term beyond 2^53', { ...app, term: 2 ** 53 }, 'message.term'],
    ['a number node ID', { ...app, from: 1 }, 'message.from'],
    ['a node ID beyond 64 bits', { ...app, to: 1n << 64n }, 'message.to'],
    ['entries that are not an array', { ...app, entries: {} }, 'message.entries'],
    [
      'entry data that is not bytes',
      { ...app, entries: [{ type: 'EntryNormal', term: 1, index: 1, data: 'x' }] },
      'message.entries[0].data',
    ],
    [
      'a bad conf change type',
      {
        ...app,
        entries: [
          {
            type: 'EntryConfChange',
            term: 1,
            index: 1,
            change: {
              transition: 'auto',
              changes: [{ type: 'Nope', nodeId: 1n }],
              context: new Uint8Array(),
            },
          },
        ],
      },
      'message.entries[0].change.changes[0].type',
    ],
    [
      'a snapshot without metadata',
      { type: 'MsgSnap', from: 1n, to: 2n, term: 1, snapshot: { data: new Uint8Array() } },
      'message.snapshot.metadata',
    ],
    ['not an object', 42, 'message'],
    ['null', null, 'message'],
  ])('rejects %s, naming the field', (_what, input, field) => {
    expect(() => validateMessage(input)).toThrow(InvalidMessageError);
    expect(() => validateMessage(input)).toThrow(field);
  });

  it('accepts NONE (0n) as a node ID field value', () => {
    const m = validateMessage({ type: 'MsgTransferLeader', from: 1n, to: 2n, term: 0, transferee: NONE });
    expect(m.type === 'MsgTransferLeader' && m.transferee).toBe(NONE);
  });
});
