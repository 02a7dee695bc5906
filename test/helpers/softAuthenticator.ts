// A software FIDO authenticator behind the ssh-agent protocol (draft-miller-ssh-agent): it
// holds ed25519 and ecdsa P-256 key pairs presented as security keys and signs as a FIDO key
// does per OpenSSH's PROTOCOL.u2f, so sshd verifies its signatures as it would a YubiKey's.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const FAILURE = 5;
const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
/** PROTOCOL.u2f: the user touched the key. */
export const USER_PRESENCE = 0x01;

export type SoftKeyType = 'ed25519' | 'ecdsa';

const string = (b: Buffer | string) => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length, 0);
  return Buffer.concat([len, data]);
};
const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};
/** An ssh mpint of an unsigned big-endian number. */
const mpint = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return string(v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};

export interface SoftSecurityKey {
  type: SoftKeyType;
  /** `sk-ssh-ed25519@openssh.com` or `sk-ecdsa-sha2-nistp256@openssh.com`. */
  sshType: string;
  /** The sk public key blob (type, point, application). */
  blob: Buffer;
  /** A certificate of it, offered as another identity once set (the agent signs with the same key). */
  certificate?: Buffer;
  /** `TYPE BASE64 COMMENT`, as in a .pub file or authorized_keys. */
  publicLine: string;
  privateKey: KeyObject;
}

/** Makes a key pair presented as a security key of `type` for the application "ssh:". */
export function softSecurityKey(type: SoftKeyType, comment = `soft-${type}-sk`): SoftSecurityKey {
  const application = 'ssh:';
  if (type === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const point = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const sshType = 'sk-ssh-ed25519@openssh.com';
    const blob = Buffer.concat([string(sshType), string(point), string(application)]);
    return { type, sshType, blob, publicLine: `${sshType} ${blob.toString('base64')} ${comment}`, privateKey };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const sshType = 'sk-ecdsa-sha2-nistp256@openssh.com';
  const blob = Buffer.concat([string(sshType), string('nistp256'), string(point), string(application)]);
  return { type, sshType, blob, publicLine: `${sshType} ${blob.toString('base64')} ${comment}`, privateKey };
}

export interface SoftAuthenticator {
  socket: string;
  keys: SoftSecurityKey[];
  /** Flags put in each signature (USER_PRESENCE unless a test takes the touch away). */
  flags: number;
  /** Answers FAILURE to each sign request, as ssh-agent does when the key was not touched in time. */
  refuse: boolean;
  /** How long each signature waits for the "touch" (a person reaching for the key). */
  touchAfterMs: number;
  /** Signatures made so far. */
  readonly signatures: number;
  close(): Promise<void>;
}

/**
 * The signature a FIDO key makes for `message` (PROTOCOL.u2f): over
 * sha256(application) || flags || uint32 counter || sha256(message), returned as
 * string type, string signature, byte flags, uint32 counter.
 */
export function skSignature(key: SoftSecurityKey, message: Buffer, flags: number, counter: number): Buffer {
  const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
  const signed = Buffer.concat([sha256('ssh:'), Buffer.from([flags]), uint32(counter), sha256(message)]);
  let raw: Buffer;
  if (key.type === 'ed25519') raw = sign(null, signed, key.privateKey);
  else {
    const rs = sign('sha256', signed, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    raw = Buffer.concat([mpint(rs.subarray(0, 32)), mpint(rs.subarray(32))]);
  }
  return Buffer.concat([string(key.sshType), string(raw), Buffer.from([flags]), uint32(counter)]);
}

/** An agent on DIR/sk-agent.sock holding `keys` (and their certificates, once set). */
export async function startSoftAuthenticator(dir: string, keys: SoftSecurityKey[]): Promise<SoftAuthenticator> {
  const socket = path.join(dir, 'sk-agent.sock');
  fs.rmSync(socket, { force: true });
  let counter = 0;
  const state = { flags: USER_PRESENCE, signatures: 0, touchAfterMs: 0, refuse: false };

  const answer = async (request: Buffer): Promise<Buffer> => {
    if (request[0] === REQUEST_IDENTITIES) {
      const ids = keys.flatMap((k) => [{ blob: k.blob, comment: k.publicLine.split(' ')[2] }, ...(k.certificate ? [{ blob: k.certificate, comment: 'certificate' }] : [])]);
      return Buffer.concat([Buffer.from([IDENTITIES_ANSWER]), uint32(ids.length), ...ids.map((id) => Buffer.concat([string(id.blob), string(id.comment)]))]);
    }
    if (request[0] === SIGN_REQUEST) {
      const blobLength = request.readUInt32BE(1);
      const blob = request.subarray(5, 5 + blobLength);
      const dataLength = request.readUInt32BE(5 + blobLength);
      const data = request.subarray(9 + blobLength, 9 + blobLength + dataLength);
      const key = keys.find((k) => k.blob.equals(blob) || k.certificate?.equals(blob));
      if (!key || state.refuse) return Buffer.from([FAILURE]);
      if (state.touchAfterMs > 0) await new Promise((r) => setTimeout(r, state.touchAfterMs));
      state.signatures++;
      return Buffer.concat([Buffer.from([SIGN_RESPONSE]), string(skSignature(key, data, state.flags, ++counter))]);
    }
    return Buffer.from([FAILURE]);
  };

  const server = net.createServer((conn) => {
    let got = Buffer.alloc(0);
    /** Answers go out in the order of the requests. */
    let answered = Promise.resolve();
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      // Bounded: each complete request is queued and dropped from the buffer.
      while (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        const len = got.readUInt32BE(0);
        const request = got.subarray(4, 4 + len);
        got = got.subarray(4 + len);
        answered = answered.then(async () => {
          const reply = await answer(request);
          if (!conn.destroyed) conn.write(Buffer.concat([uint32(reply.length), reply]));
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, () => resolve()));
  return {
    socket,
    keys,
    get flags() {
      return state.flags;
    },
    set flags(f: number) {
      state.flags = f;
    },
    get refuse() {
      return state.refuse;
    },
    set refuse(r: boolean) {
      state.refuse = r;
    },
    get touchAfterMs() {
      return state.touchAfterMs;
    },
    set touchAfterMs(ms: number) {
      state.touchAfterMs = ms;
    },
    get signatures() {
      return state.signatures;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Writes `key` as `ssh-keygen -t ed25519-sk` leaves it in id_ed25519_sk (openssh-key-v1, no
 * passphrase): the public key, and a key handle the FIDO device would need to sign, plus KEY.pub.
 */
export function writeSecurityKeyFile(key: SoftSecurityKey, file: string): void {
  const fields: Buffer[] = [];
  let at = 0;
  while (at < key.blob.length) {
    const len = key.blob.readUInt32BE(at);
    fields.push(key.blob.subarray(at, at + 4 + len));
    at += 4 + len;
  }
  const check = uint32(0x5eed5eed);
  // type, point fields, application (as in the blob), then flags, key handle, reserved, comment.
  let secret = Buffer.concat([check, check, ...fields, Buffer.from([USER_PRESENCE]), string(Buffer.alloc(64, 7)), string(''), string(key.publicLine.split(' ')[2])]);
  for (let pad = 1; secret.length % 8 !== 0; pad++) secret = Buffer.concat([secret, Buffer.from([pad])]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), string('none'), string('none'), string(''), uint32(1), string(key.blob), string(secret)]);
  const lines = body.toString('base64').match(/.{1,70}/g)!;
  fs.writeFileSync(file, `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`, { mode: 0o600 });
  fs.writeFileSync(`${file}.pub`, `${key.publicLine}\n`);
}
