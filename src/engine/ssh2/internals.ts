/**
 * The parts of ssh2 that are not its public API, loaded in one place: the adapter checks them
 * (version and shapes) before anything in this folder changes or reads them.
 */
import { Client } from 'ssh2';

/** The ssh2 release every reach in this folder was written against; package.json pins it. */
export const SSH2_VERSION = '1.17.0';

/** What the adapter uses of ssh2's internals; the checks and the patches take it as an argument, so a test can hand them a different one. */
export interface Ssh2Internals {
  version: string;
  crypto: {
    CIPHER_INFO: Record<string, { sslName: string; keyLen: number; ivLen: number }>;
    createCipher(config: unknown): object;
    createDecipher(config: unknown): object;
    bindingAvailable: boolean;
  };
  Protocol: { prototype: Record<string, unknown> };
  zlib: { PacketReader: unknown; PacketWriter: unknown };
  Channel: { prototype: Record<string, unknown> };
  protocolUtils: {
    sendPacket(proto: unknown, packet: Buffer): unknown;
    convertSignature(signature: Buffer, keyType: string): Buffer | false;
    sigSSHToASN1(signature: Buffer, algorithm: string): Buffer | false | undefined;
  };
  /** Its protocol constants: the host key algorithms a client may ask for. */
  constants: { SUPPORTED_SERVER_HOST_KEY: string[]; DEFAULT_SERVER_HOST_KEY: string[] };
  /** A fresh, unconnected client, for its instance fields. */
  newClient(): object;
}

export function loadSsh2Internals(): Ssh2Internals {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    version: (require('ssh2/package.json') as { version: string }).version,
    crypto: require('ssh2/lib/protocol/crypto.js') as Ssh2Internals['crypto'],
    Protocol: require('ssh2/lib/protocol/Protocol.js') as Ssh2Internals['Protocol'],
    zlib: require('ssh2/lib/protocol/zlib.js') as Ssh2Internals['zlib'],
    Channel: (require('ssh2/lib/Channel.js') as { Channel: Ssh2Internals['Channel'] }).Channel,
    protocolUtils: require('ssh2/lib/protocol/utils.js') as Ssh2Internals['protocolUtils'],
    constants: require('ssh2/lib/protocol/constants.js') as Ssh2Internals['constants'],
    newClient: () => new Client(),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** Names of `fields` that `target` lacks, as "what.field". */
export function missing(what: string, target: object | undefined, fields: readonly string[]): string[] {
  if (typeof target !== 'object' && typeof target !== 'function') return [`${what} is missing`];
  return fields.filter((f) => target === null || !(f in target)).map((f) => `${what}.${f} is missing`);
}

/** Names of `methods` that are not functions on `target`, as "what.method()". */
export function notFunctions(what: string, target: object | undefined, methods: readonly string[]): string[] {
  if (typeof target !== 'object' && typeof target !== 'function') return [`${what} is missing`];
  return methods.filter((m) => typeof (target as Record<string, unknown>)[m] !== 'function').map((m) => `${what}.${m}() is not a function`);
}
