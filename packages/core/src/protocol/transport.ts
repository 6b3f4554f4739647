/**
 * The transport under the frames: plain TCP, or TLS 1.2 with a pre-shared key derived from
 * the cluster secret (TLS-PSK: no certificates to distribute, and only holders of the secret
 * can even complete the TLS handshake). The HMAC handshake runs inside either way.
 * @module
 */
import { hkdfSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

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

/**
 * A server that hands `onConnection` sockets ready for frames. With encryption, sockets arrive
 * after the TLS handshake; a peer that fails it (wrong secret, not TLS at all) goes to `onRejected`.
 */
export function createServer(
  security: TransportSecurity,
  onConnection: (socket: net.Socket) => void,
  onRejected: (remoteAddress: string, reason: string) => void,
): net.Server {
  if (!security.encrypt) return net.createServer({ noDelay: true }, onConnection);
  const psk = pskFor(security.secret);
  const server = tls.createServer({ ...tlsBase, pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? psk : null) }, onConnection);
  server.on('tlsClientError', (error, socket) => {
    onRejected(`${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, `TLS handshake failed (${error.message}); the peer does not hold this cluster's secret or does not speak TLS`);
    socket.destroy();
  });
  return server;
}

/** Connect to the master; resolves once the socket (and TLS, when on) is ready. */
export function connect(host: string, port: number, security: TransportSecurity): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = security.encrypt
      ? tls.connect({ ...tlsBase, host, port, pskCallback: () => ({ psk: pskFor(security.secret), identity: PSK_IDENTITY }), checkServerIdentity: () => undefined })
      : net.connect({ host, port });
    socket.once(security.encrypt ? 'secureConnect' : 'connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
