/**
 * The transport under the frames: plain TCP, or TLS 1.2 with a pre-shared key derived from
 * the cluster secret (TLS-PSK: no certificates to distribute, and only holders of the secret
 * can even complete the TLS handshake). The HMAC handshake runs inside either way.
 * @module
 */
import { hkdfSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { DirectReads } from './direct-reads.js';

const PSK_IDENTITY = 'cm';
const PSK_CIPHERS = 'PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305';

export interface TransportSecurity {
  /** Encrypt connections with TLS-PSK. */
  encrypt: boolean;
  secret: Buffer;
}

/** The TLS pre-shared key: a separate key derived from the secret, so the HMAC key is never used for TLS. */
function pskFor(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'cm tls-psk v1', 32));
}

const tlsBase = { ciphers: PSK_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

/** `host:port` of a peer, or a placeholder once the socket is gone. */
export function peerAddress(socket: net.Socket): string {
  if (socket.remoteAddress === undefined) return 'a peer that already disconnected';
  return socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]:${socket.remotePort}` : `${socket.remoteAddress}:${socket.remotePort}`;
}

/** OpenSSL's error codes, said in words a person can act on. */
const TLS_FAILURES: Array<[RegExp, string]> = [
  [/HANDSHAKE_TIMEOUT/, 'it did not complete the TLS handshake in time (an idle or very slow peer)'],
  [
    /HTTP_REQUEST|WRONG_VERSION_NUMBER|UNKNOWN_PROTOCOL|LENGTH_TOO_SHORT|RECORD_LENGTH_MISMATCH|PACKET_LENGTH_TOO_LONG|UNEXPECTED_MESSAGE|RECORD_LAYER_FAILURE/,
    'it does not speak TLS (a plain-TCP worker? start workers with CM_TLS=1 when the cluster encrypts)',
  ],
  [/BAD_RECORD_MAC|DECRYPT|CIPHER_OPERATION_FAILED|PSK_IDENTITY_NOT_FOUND|UNKNOWN_PSK_IDENTITY/, "its key differs: it does not hold this cluster's secret"],
  [
    /NO_SHARED_CIPHER|NO_CIPHERS|UNSUPPORTED_PROTOCOL|VERSION_TOO_LOW|VERSION_TOO_HIGH|INAPPROPRIATE_FALLBACK/,
    'it offers no TLS 1.2 PSK cipher suite @cm accepts (PSK-AES128-GCM-SHA256, PSK-CHACHA20-POLY1305)',
  ],
  [/ECONNRESET|EPIPE/, 'it closed the connection during the TLS handshake'],
];

/** Why a TLS handshake failed, in plain words, with OpenSSL's code for the record. */
export function describeTlsFailure(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const words = TLS_FAILURES.find(([pattern]) => pattern.test(code))?.[1] ?? `the TLS handshake failed (${(error as { reason?: string }).reason ?? error.message.split('\n')[0]})`;
  return `TLS handshake failed: ${words}${code ? ` [${code}]` : ''}`;
}

export interface ServerOptions {
  /** Drop a peer that has not completed the TLS handshake within this many ms (Node's default is 120 s). */
  handshakeTimeoutMs: number;
}

/**
 * A server that hands `onConnection` sockets ready for frames. With encryption, sockets arrive
 * after the TLS handshake; a peer that fails it (wrong secret, not TLS at all, too slow) goes
 * to `onRejected`.
 */
export function createServer(security: TransportSecurity, onConnection: (socket: net.Socket) => void, onRejected: (remoteAddress: string, reason: string) => void, options: ServerOptions): net.Server {
  if (!security.encrypt) return net.createServer({ noDelay: true }, onConnection);
  const psk = pskFor(security.secret);
  const server = tls.createServer({ ...tlsBase, handshakeTimeout: options.handshakeTimeoutMs, pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? psk : null) }, onConnection);
  // A peer that resets mid-handshake has no address left by the time the error is reported.
  const addresses = new WeakMap<net.Socket, string>();
  server.on('connection', (raw: net.Socket) => addresses.set(raw, peerAddress(raw)));
  server.on('tlsClientError', (error, socket) => {
    const raw = (socket as unknown as { _parent?: net.Socket })._parent;
    onRejected((raw && addresses.get(raw)) ?? peerAddress(socket), describeTlsFailure(error));
    socket.destroy();
  });
  return server;
}

/**
 * Connect to the master (or another worker); resolves once the socket (and TLS, when on) is
 * ready. A plain-TCP socket reads through DirectReads, which FramedConnection attaches to.
 */
export function connect(host: string, port: number, security: TransportSecurity): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const reads = security.encrypt ? undefined : new DirectReads();
    const socket = security.encrypt
      ? tls.connect({ ...tlsBase, host, port, pskCallback: () => ({ psk: pskFor(security.secret), identity: PSK_IDENTITY }), checkServerIdentity: () => undefined })
      : net.connect({ host, port, onread: reads!.onread });
    reads?.bind(socket);
    socket.once(security.encrypt ? 'secureConnect' : 'connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
