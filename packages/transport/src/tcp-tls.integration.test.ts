import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidPeerUrlError } from './tcp-errors.js';
import type { TcpTlsOptions } from './tcp-options.js';
import { encodeHello, PROTOCOL_VERSION } from './tcp-protocol.js';
import {
  closeAll,
  connectAll,
  heartbeat,
  member,
  pattern,
  RawSocket,
  snapMessage,
} from './test/tcp-harness.js';

/** A CA, certificates it signs, and a rogue CA, made with the system's openssl in a temp dir. */
class Pki {
  private readonly dir = mkdtempSync(join(tmpdir(), 'tsetcd-tls-'));
  private serial = 1;

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  private read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  /** Makes CA `name` (key and self-signed certificate). */
  makeCa(name: string): string {
    this.openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    );
    return this.read(`${name}.crt`);
  }

  /** A key and a certificate signed by CA `ca`, valid for both TLS roles, naming `san`. */
  issue(name: string, ca: string, san: string): { cert: string; key: string } {
    writeFileSync(
      join(this.dir, `${name}.ext`),
      `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n`,
    );
    this.openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    this.openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      String(this.serial++),
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
    return { cert: this.read(`${name}.crt`), key: this.read(`${name}.key`) };
  }

  /** Removes the temp dir. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let pki: Pki;
let ca: string;
let tls1: TcpTlsOptions;
let tls2: TcpTlsOptions;
/** Signed by a CA the cluster does not trust (but trusting the cluster's CA itself). */
let rogue: TcpTlsOptions;
/** Signed by the cluster's CA, but naming another host than 127.0.0.1. */
let misnamed: TcpTlsOptions;

beforeAll(() => {
  pki = new Pki();
  ca = pki.makeCa('cluster-ca');
  const rogueCa = pki.makeCa('rogue-ca');
  tls1 = { ca, ...pki.issue('member-1', 'cluster-ca', 'IP:127.0.0.1') };
  tls2 = { ca: [ca], ...pki.issue('member-2', 'cluster-ca', 'IP:127.0.0.1,DNS:localhost') };
  rogue = { ca, ...pki.issue('rogue', 'rogue-ca', 'IP:127.0.0.1') };
  misnamed = { ca, ...pki.issue('misnamed', 'cluster-ca', 'DNS:elsewhere.example') };
  expect(rogueCa).toContain('BEGIN CERTIFICATE');
});
afterAll(() => pki?.remove());
afterEach(closeAll);

const tlsListen = 'tls://127.0.0.1:0';

describe('TcpTransport over TLS (mutual authentication)', () => {
  it('exchanges messages and a snapshot between members with certificates from the cluster CA', async () => {
    const [a, b] = await Promise.all([
      member(1n, { tls: tls1, listen: tlsListen }),
      member(2n, { tls: tls2, listen: tlsListen }),
    ]);
    expect(a.transport.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    await connectAll([a, b]);
    const data = pattern(2 * 1024 * 1024 + 3);
    a.transport.send([heartbeat(1n, 2n, 1), snapMessage(1n, 2n, data)]);
    b.transport.send([heartbeat(2n, 1n, 2)]);
    await b.rec.until(() => b.rec.messages.length === 2, 'both messages at member 2');
    await a.rec.until(
      () => a.rec.messages.length === 1 && a.rec.snapshotStatus.length === 1,
      'the reply and ack',
    );
    const snap = b.rec.messages[1];
    expect(snap?.type === 'MsgSnap' && Buffer.compare(snap.snapshot.data, data)).toBe(0);
    expect(a.rec.snapshotStatus).toEqual([[2n, 'SnapshotFinish']]);
  });

  it('refuses a dialer whose certificate another CA signed; the cluster keeps working', async () => {
    const [a, b] = await Promise.all([
      member(1n, { tls: tls1, listen: tlsListen }),
      member(2n, { tls: tls2, listen: tlsListen }),
    ]);
    await connectAll([a, b]);
    const r = await member(3n, { tls: rogue, listen: tlsListen });
    b.transport.addPeer(3n, r.transport.url);
    r.transport.addPeer(2n, b.transport.url);
    await b.rec.untilLogged('client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await r.rec.untilLogged('rejected by peer: client certificate refused');
    r.transport.send([heartbeat(3n, 2n)]);
    expect(r.transport.peerState(2n)).not.toBe('connected');
    a.transport.send([heartbeat(1n, 2n, 5)]);
    await b.rec.until(() => b.rec.messages.length === 1, 'the message from member 1');
    expect(b.rec.messages[0]?.from).toBe(1n);
  });

  it('a dialer refuses an acceptor with a certificate from an unknown CA', async () => {
    const [a, r] = await Promise.all([
      member(1n, { tls: tls1, listen: tlsListen }),
      member(3n, { tls: rogue, listen: tlsListen }),
    ]);
    r.transport.addPeer(1n, a.transport.url);
    a.transport.addPeer(3n, r.transport.url);
    await a.rec.until(
      () => a.rec.logs.some((l) => l.includes('connection to peer 3') && /certificate/i.test(l)),
      'a certificate error dialling the rogue',
    );
    expect(a.transport.peerState(3n)).not.toBe('connected');
  });

  it("a dialer refuses an acceptor whose certificate does not name the URL's host", async () => {
    const [a, m] = await Promise.all([
      member(1n, { tls: tls1, listen: tlsListen }),
      member(4n, { tls: misnamed, listen: tlsListen }),
    ]);
    m.transport.addPeer(1n, a.transport.url);
    a.transport.addPeer(4n, m.transport.url);
    await a.rec.until(
      () =>
        a.rec.logs.some(
          (l) => l.includes('connection to peer 4') && l.includes("IP: 127.0.0.1 is not in the cert's list"),
        ),
      'a host name mismatch',
    );
    expect(a.transport.peerState(4n)).not.toBe('connected');
  });

  it('refuses a plaintext dialer at the TLS handshake', async () => {
    const b = await member(2n, { tls: tls2, listen: tlsListen });
    b.transport.addPeer(1n, 'tls://127.0.0.1:1');
    const raw = await RawSocket.connect(b.transport.address.port);
    raw.writeFrame(
      encodeHello({ version: PROTOCOL_VERSION, clusterToken: 'test-cluster', from: 1n, to: 2n }),
    );
    await raw.closed;
    await b.rec.untilLogged('TLS handshake from 127.0.0.1');
    expect(b.rec.messages).toEqual([]);
  });

  it('refuses tcp:// peer URLs on a TLS transport', async () => {
    const a = await member(1n, { tls: tls1, listen: tlsListen });
    expect(() => a.transport.addPeer(2n, 'tcp://127.0.0.1:2380')).toThrow(InvalidPeerUrlError);
    await expect(member(2n, { tls: tls2, listen: 'tcp://127.0.0.1:0' })).rejects.toThrow(InvalidPeerUrlError);
  });
});
