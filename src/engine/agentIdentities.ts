/**
 * ssh-agent identities as ssh uses them, certificates included. ssh2's own agent client drops
 * every identity it cannot parse as a key, so a certificate added with `ssh-add` is never
 * offered. This agent lists the identities itself and turns each certificate into its key,
 * presenting the certificate (the adapter's `certifiedKey`); signing is ssh2's, with the
 * certificate blob as the key blob (how the agent finds it) and the rsa-sha2 flags of the key.
 */
import type { Duplex } from 'node:stream';
import { OpenSSHAgent, utils, type ParsedKey } from 'ssh2';
import { certificateProblem, parseCertificateBlob } from './certificate';
import { certifiedKey } from './ssh2';

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const FAILURE = 5;
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
    const framed = Buffer.alloc(4 + request.length);
    framed.writeUInt32BE(request.length, 0);
    request.copy(framed, 4);
    stream.write(framed);
  });
}

/** The (blob, comment) pairs of an IDENTITIES_ANSWER. */
function identities(payload: Buffer): Array<{ blob: Buffer; comment: string }> {
  if (payload[0] === FAILURE) throw new Error('the agent refused to list its keys');
  if (payload[0] !== IDENTITIES_ANSWER || payload.length < 5) throw new Error('the agent gave a malformed list of keys');
  const out: Array<{ blob: Buffer; comment: string }> = [];
  let at = 5;
  const take = () => {
    if (at + 4 > payload.length) throw new Error('the agent gave a malformed list of keys');
    const len = payload.readUInt32BE(at);
    if (at + 4 + len > payload.length) throw new Error('the agent gave a malformed list of keys');
    const b = payload.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return b;
  };
  for (let n = payload.readUInt32BE(1); n > 0; n--) out.push({ blob: take(), comment: take().toString('utf8') });
  return out;
}

/**
 * An agent at `socketPath` whose identities include its certificates. A certificate that
 * would be refused for `username` (expired, not yet valid, another user's) is left out, and
 * `skipped` gets why.
 */
export class CertificateAgent extends OpenSSHAgent {
  constructor(socketPath: string, private readonly username: string, private readonly skipped: (why: string) => void) {
    super(socketPath);
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
    const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
    const type = blob.subarray(4, 4 + typeLength).toString('latin1');
    if (!type.endsWith('-cert-v01@openssh.com')) {
      const key = utils.parseKey(blob);
      if (key instanceof Error) return []; // a type ssh2 cannot sign with (security keys): as ssh2 does
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
    const key = utils.parseKey(cert.publicKey);
    if (key instanceof Error) return [];
    key.comment ||= comment;
    return [certifiedKey(key, blob)];
  }
}
