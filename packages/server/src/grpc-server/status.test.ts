import { describe, expect, it } from 'vitest';
import { encodeGrpcMessage, parseGrpcTimeout } from './status.js';

describe('grpc-message encoding', () => {
  it('leaves printable ASCII alone', () => {
    expect(encodeGrpcMessage('etcdserver: key is not provided')).toBe('etcdserver: key is not provided');
  });

  it('percent-encodes %, control characters and non-ASCII as UTF-8 bytes', () => {
    expect(encodeGrpcMessage('100%')).toBe('100%25');
    expect(encodeGrpcMessage('a\nb')).toBe('a%0Ab');
    expect(encodeGrpcMessage('é')).toBe('%C3%A9');
    expect(decodeURIComponent(encodeGrpcMessage('ключ % ok'))).toBe('ключ % ok');
  });
});

describe('grpc-timeout', () => {
  it('reads every unit in milliseconds', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('2000000n')).toBe(2);
  });

  it('ignores an absent or malformed value', () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    expect(parseGrpcTimeout('')).toBeUndefined();
    expect(parseGrpcTimeout('10')).toBeUndefined();
    expect(parseGrpcTimeout('123456789S')).toBeUndefined(); // more than 8 digits
    expect(parseGrpcTimeout('-1S')).toBeUndefined();
    expect(parseGrpcTimeout('1x')).toBeUndefined();
  });
});
