/**
 * ssh-agent identities as ssh uses them, certificates included. ssh2's own agent client drops
 * every identity it cannot parse as a key, so a certificate added with `ssh-add` is never
 * offered. This agent lists the identities itself and turns each certificate into its key,
 * presenting the certificate (the adapter's `certifiedKey`); signing is ssh2's, with the
 * certificate blob as the key blob (how the agent finds it) and the rsa-sha2 flags of the key.
 * Security keys (and their certificates) are listed too; the agent signs for them itself,
 * while the person is asked to touch the key, and its signature is passed on whole.
 */
import type { Duplex } from 'node:stream';
import { OpenSSHAgent, utils, type ParsedKey, type SignCallback, type SigningRequestOptions } from 'ssh2';
import { parseCertificateBlob } from '../wire/certificate';
import { isCertificateType } from '../wire/keyTypes';
import { blobType, SshReader, sshString } from '../wire/sshBuffer';
import { certificateProblem } from './userCertificate';
import { isSecurityKeyType, securityKeyFromBlob } from './securityKeys';
import { certifiedKey, securityKeyOffer } from '../ssh2';

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const FAILURE = 5;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
/** A bound on one answer: an agent holding thousands of keys still fits. */
const MAX_ANSWER = 1024 * 1024;

type IdentitiesCallback = (err: Error | undefined | null, keys?: ParsedKey[]) => void;

/** Sends one agent request and resolves with the payload of its answer. */
function exchange(stream: Duplex, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4) return;
      const len = got.readUInt32BE(0);
      if (len > MAX_ANSWER) return done(new Error(`the agent answered with ${len} bytes`));
      if (got.length >= 4 + len) done(undefined, got.subarray(4, 4 + len));
    };
    const onEnd = () => done(new Error('the agent closed the connection'));
    const done = (err?: Error, payload?: Buffer) => {
      stream.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', done);
      if (err) reject(err);
      else resolve(payload!);
    };
    stream.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', done);
    // Each agent message is framed as an SSH string (PROTOCOL.agent).
    stream.write(sshString(request));
  });
}

/** The (blob, comment) pairs of an IDENTITIES_ANSWER. */
function identities(payload: Buffer): Array<{ blob: Buffer; comment: string }> {
  if (payload[0] === FAILURE) throw new Error('the agent refused to list its keys');
  if (payload[0] !== IDENTITIES_ANSWER || payload.length < 5) throw new Error('the agent gave a malformed list of keys');
  const out: Array<{ blob: Buffer; comment: string }> = [];
  const r = new SshReader(payload, 1);
  try {
    for (let n = r.uint32(); n > 0; n--) out.push({ blob: r.bytes(), comment: r.text() });
  } catch {
    throw new Error('the agent gave a malformed list of keys');
  }
  return out;
}

/**
 * An agent at `socketPath` whose identities include its certificates. A certificate that
 * would be refused for `username` (expired, not yet valid, another user's) is left out, and
 * `skipped` gets why.
 */
export class CertificateAgent extends OpenSSHAgent {
  /**
   * `hooks.touchKey` is called as a security key is asked to sign, with how ssh names it
   * ("ED25519-SK SHA256:…"); what it returns is called when the signing ends. `hooks.listed`
   * gets the blob of every identity the agent lists.
   */
  constructor(
    socketPath: string,
    private readonly username: string,
    private readonly skipped: (why: string) => void,
    private readonly hooks: { touchKey?: (description: string) => (() => void) | void; listed?: (blob: Buffer) => void } = {},
  ) {
    super(socketPath);
  }

  override sign(pubKey: string | Buffer | ParsedKey, data: Buffer, options?: SigningRequestOptions | SignCallback, cb?: SignCallback): boolean {
    const done = (typeof options === 'function' ? options : cb)!;
    const sk = securityKeyOffer(pubKey);
    if (!sk) return super.sign(pubKey, data, typeof options === 'function' ? undefined : options, done);
    let dismiss: (() => void) | void;
    try {
      dismiss = this.hooks.touchKey?.(sk.description);
    } catch {
      dismiss = undefined; // a failing notice does not stop the login
    }
    const finish = (err: Error | null, signature?: Buffer) => {
      try {
        dismiss?.();
      } catch {
        // as above
      }
      done(err ?? undefined, signature as Buffer);
    };
    this.getStream((err, stream) => {
      if (err || !stream) return finish(err ?? new Error('Failed to connect to agent'));
      // byte SIGN_REQUEST, string key blob, string data, uint32 flags (none for security keys)
      const request = Buffer.concat([Buffer.from([SIGN_REQUEST]), sshString(sk.blob), sshString(data), Buffer.alloc(4)]);
      exchange(stream, request).then(
        (payload) => {
          stream.destroy();
          if (payload[0] !== SIGN_RESPONSE || payload.length < 5 || payload.readUInt32BE(1) !== payload.length - 5) {
            // ssh-agent answers FAILURE when the key was not touched in time: said in the final error.
            const why = `security key ${sk.description} in the agent did not sign (was it touched?)`;
            this.skipped(why);
            return finish(new Error(why));
          }
          finish(null, payload.subarray(5));
        },
        (e: Error) => {
          stream.destroy();
          finish(e);
        },
      );
    });
    return true;
  }

  override getIdentities(cb: IdentitiesCallback): void {
    this.getStream((err, stream) => {
      if (err || !stream) return cb(err ?? new Error('Failed to connect to agent'));
      exchange(stream, Buffer.from([REQUEST_IDENTITIES])).then(
        (payload) => {
          stream.destroy();
          let list;
          try {
            list = identities(payload);
          } catch (e) {
            return cb(e as Error);
          }
          for (const { blob } of list) this.hooks.listed?.(blob);
          cb(null, list.flatMap(({ blob, comment }) => this.usable(blob, comment)));
        },
        (e: Error) => {
          stream.destroy();
          cb(e);
        },
      );
    });
  }

  /** The key of one identity, or none when it cannot be used. */
  private usable(blob: Buffer, comment: string): ParsedKey[] {
    const type = blobType(blob);
    if (isSecurityKeyType(type) && !isCertificateType(type)) {
      const key = securityKeyFromBlob(blob, blob, comment);
      return key ? [key] : [];
    }
    if (!isCertificateType(type)) {
      const key = utils.parseKey(blob);
      if (key instanceof Error) return []; // a type ssh2 cannot read: left out, as ssh2 does
      key.comment ||= comment;
      return [key];
    }
    let cert;
    try {
      cert = parseCertificateBlob(blob, `in the agent${comment ? ` (${comment})` : ''}`);
    } catch (e) {
      this.skipped((e as Error).message);
      return [];
    }
    const problem = certificateProblem(cert, this.username);
    if (problem) {
      this.skipped(problem);
      return [];
    }
    if (isSecurityKeyType(type)) {
      const key = securityKeyFromBlob(cert.publicKey, blob, comment);
      return key ? [key] : [];
    }
    const key = utils.parseKey(cert.publicKey);
    if (key instanceof Error) return [];
    key.comment ||= comment;
    return [certifiedKey(key, blob)];
  }
}
