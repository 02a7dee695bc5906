// Requests between processes: asking another to act on its tunnel (or whether it holds a port)
// and waiting for its answer, and answering theirs with this process's own actions.
import { errorMessage, listensWhere, TunnelError, type TunnelInfo } from '../engine';
import type { AnnouncedManager } from './announcer';
import type { Link } from './link';
import type { Message, RequestOp } from './protocol';
import { who, type Known } from './registry';
import { describePeer, type OwnerActions, type PeerIdentity } from './types';

type Answer = { info?: TunnelInfo; holds?: boolean };

interface Pending {
  peerId: string;
  resolve: (answer: Answer) => void;
  reject: (err: Error) => void;
}

export interface RequestsOptions {
  /** The process to ask, by id. */
  find(peerId: string): Known | undefined;
  manager: AnnouncedManager;
  actions: OwnerActions;
  log(message: string): void;
}

export class Requests {
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;

  constructor(private readonly options: RequestsOptions) {}

  // ---- ours to the others ----

  /** Sends a request (its id set here) and resolves with the reply, or rejects with TIMEOUT after `timeoutMs`. */
  ask(peerId: string, message: Extract<Message, { t: 'req' | 'holds' }>, timeoutMs: number): Promise<Answer> {
    const known = this.options.find(peerId);
    if (!known || !known.link.open) {
      return Promise.reject(new TunnelError('PEER_GONE', `The process that served this tunnel (${peerId}) has ended; nothing was done.`));
    }
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TunnelError('TIMEOUT', `${who(known.peer)} did not answer within ${timeoutMs / 1000} s.`));
      }, timeoutMs);
      timer.unref();
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      this.pending.set(id, { peerId, resolve: settle(resolve), reject: settle(reject) });
      known.link.send({ ...message, id });
    });
  }

  /** An answer came. */
  answered(m: Extract<Message, { t: 'res' }>): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m);
    else p.reject(new TunnelError(m.code as TunnelError['code'], m.message));
  }

  /** Fails what waits on a process that is gone. */
  lost(peer: PeerIdentity): void {
    for (const [id, p] of this.pending) {
      if (p.peerId !== peer.id) continue;
      this.pending.delete(id);
      p.reject(gone(peer));
    }
  }

  /** Fails all that waits: this process is shutting down. */
  dispose(): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new TunnelError('CLOSED', 'This process is shutting down.'));
    }
  }

  // ---- the others' to us ----

  async serve(link: Link, id: number, op: RequestOp, tunnelId: string): Promise<void> {
    const asker = link.peer ? who(link.peer) : 'another process';
    this.options.log(`${asker} asks to ${op} ${tunnelId}.`);
    try {
      if (op === 'close') {
        await this.options.actions.close(tunnelId);
        link.send({ t: 'res', id, ok: true });
      } else {
        const info = await this.options.actions.restart(tunnelId);
        link.send({ t: 'res', id, ok: true, info });
      }
    } catch (err) {
      const code = err instanceof TunnelError ? err.code : 'FAILED';
      link.send({ t: 'res', id, ok: false, code, message: errorMessage(err) });
    }
  }

  holds(link: Link, m: Extract<Message, { t: 'holds' }>): void {
    const holds = this.options.manager.listTunnels().some((info) => info.state !== 'closed' && listensWhere(m.spec, info));
    link.send({ t: 'res', id: m.id, ok: true, holds });
  }
}

function gone(peer: PeerIdentity): TunnelError {
  return new TunnelError('PEER_GONE', `${describePeer(peer)} (pid ${peer.pid}) has ended before it answered; its tunnels are no longer served.`);
}
