import { type Message, seededRandom } from '@tsetcd/raft';
import { describe, expect, it } from 'vitest';
import { SendQueue } from './tcp-send-queue.js';
import { heartbeat, snapMessage } from './test/tcp-harness.js';

describe('SendQueue', () => {
  it('is FIFO across compactions (property: random pushes and shifts against an array)', () => {
    const rand = seededRandom(11);
    const q = new SendQueue();
    const model: Message[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (rand(3) !== 0) {
        const m = heartbeat(1n, 2n, i);
        q.push(m);
        model.push(m);
      } else {
        expect(q.shift()).toBe(model.shift());
      }
      expect(q.length).toBe(model.length);
      expect(q.peek()).toBe(model[0]);
    }
  });

  it('clear() empties it and counts the MsgSnaps it dropped', () => {
    const q = new SendQueue();
    q.push(heartbeat(1n, 2n));
    q.push(snapMessage(1n, 2n, new Uint8Array(1)));
    q.push(snapMessage(1n, 2n, new Uint8Array(1)));
    q.shift();
    expect(q.clear()).toEqual({ messages: 2, snapshots: 2 });
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});
