// What the bench hands a Node peer's process (argv[2], JSON): the server, the pinned cipher,
// where to listen (loopback) and what to forward to.
import type { ConnectConfig } from 'ssh2';

export interface PeerConfig {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  cipher: string;
  listenPort: number;
  targetPort: number;
}

/** ssh2's connect options for the peer: key auth and the bench's cipher, nothing else changed. */
export function connectConfig(c: PeerConfig, privateKey: Buffer): ConnectConfig {
  return { host: c.host, port: c.port, username: c.username, privateKey, algorithms: { cipher: [c.cipher as 'aes128-gcm@openssh.com'] } };
}
