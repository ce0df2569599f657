import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT_COST, hashPassword, type ScryptCost, verifyPassword } from './password.js';

// A cheap cost: the tests check the encoding and the comparison, not scrypt's strength.
const CHEAP: ScryptCost = { N: 16, r: 1, p: 1 };

describe('hashPassword / verifyPassword', () => {
  it('a hash verifies its own password and no other', async () => {
    const h = await hashPassword('s3cret', CHEAP);
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword('s3cret ', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('is self-describing: scrypt$N$r$p$salt$hash, with the cost it was made with', async () => {
    const h = await hashPassword('pw', CHEAP);
    const parts = h.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16', '1', '1']);
    expect(Buffer.from(parts[4]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5]!, 'base64')).toHaveLength(32);
  });

  it('salts: the same password hashes differently each time, and both verify', async () => {
    const a = await hashPassword('pw', CHEAP);
    const b = await hashPassword('pw', CHEAP);
    expect(a).not.toBe(b);
    expect(await verifyPassword('pw', a)).toBe(true);
    expect(await verifyPassword('pw', b)).toBe(true);
  });

  it('verifies with the cost stored in the hash, not the current default', async () => {
    const h = await hashPassword('pw', { N: 32, r: 2, p: 1 });
    expect(h.startsWith('scrypt$32$2$1$')).toBe(true);
    expect(await verifyPassword('pw', h)).toBe(true);
  });

  it('a tampered hash or salt no longer verifies', async () => {
    const h = await hashPassword('pw', CHEAP);
    const parts = h.split('$');
    const flip = (b64: string) => {
      const b = Buffer.from(b64, 'base64');
      b[0]! ^= 1;
      return b.toString('base64');
    };
    expect(await verifyPassword('pw', [...parts.slice(0, 5), flip(parts[5]!)].join('$'))).toBe(false);
    expect(await verifyPassword('pw', [...parts.slice(0, 4), flip(parts[4]!), parts[5]].join('$'))).toBe(
      false,
    );
  });

  it('a malformed or hostile hash matches nothing instead of throwing', async () => {
    for (const bad of [
      '',
      'bcrypt$16$1$1$AAAA$AAAA',
      'scrypt$16$1$1$AAAA',
      'scrypt$15$1$1$AAAA$AAAA', // N not a power of two
      `scrypt$${2 ** 30}$8$1$AAAA$AAAA`, // too costly to try
      'scrypt$16$1$1$$AAAA',
    ]) {
      expect(await verifyPassword('pw', bad)).toBe(false);
    }
  });

  it('refuses to hash with an invalid cost (a programming mistake)', async () => {
    await expect(hashPassword('pw', { N: 100, r: 1, p: 1 })).rejects.toThrow(RangeError);
  });

  it('the default cost is a real one', () => {
    expect(DEFAULT_SCRYPT_COST.N).toBeGreaterThanOrEqual(1 << 14);
  });
});
