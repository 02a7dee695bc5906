// What `up` says above its table when one of its tunnels or a server changes (a reconnect, a
// retry, a failure), and which of those changes end the command (a failure under
// --exit-on-failure, a refused host key or login unless --keep-trying).
import type { ServerStatus, TunnelInfo } from '../engine';
import type { Entry } from './upTunnels';

/** "in 4 s" for a time still to come. */
export function inSeconds(at: number): string {
  return `in ${Math.max(0, Math.ceil((at - Date.now()) / 1000))} s`;
}

/** The line under the table for a server being retried: the attempt, the next try and the last error. */
export function retryLine(status: ServerStatus): string {
  const next = status.nextAttemptAt === undefined ? 'now' : inSeconds(status.nextAttemptAt);
  return `↻ ${status.name}: attempt ${status.attempt ?? 1} ${next}${status.lastError ? `; last error: ${status.lastError}` : ''}`;
}

/** What the narration reads of the command and tells it. */
export interface NarratedUp {
  /** The entries opened here, by their tunnel's id. */
  byId: Map<string, Entry>;
  entries: readonly Entry[];
  say(line: string): void;
  /** Ends the command with status 1, saying why. */
  stop(why: string): void;
  /** Whether an error code is a refusal that ends the command (a host key, a login). */
  refused(code: string | undefined): boolean;
  exitOnFailure: boolean;
}

export class UpEvents {
  /** The servers being retried, with their attempt and next try. */
  readonly retrying = new Map<string, ServerStatus>();
  /** The servers that were connected once: being retried, they are reconnecting. */
  private readonly connected = new Set<string>();

  constructor(private readonly up: NarratedUp) {}

  /** Tells a change of one of this command's tunnels; true when its state changed (the table is then redrawn). */
  tunnelChanged(info: TunnelInfo): boolean {
    const { say } = this.up;
    const entry = this.up.byId.get(info.id);
    if (!entry) return false;
    const before = entry.row.info?.state;
    const portBefore = entry.row.info?.remotePort;
    entry.row.info = info;
    // Only a port-0 forward whose port was still held after a reconnect moves to another.
    if (info.type === 'remote' && portBefore !== undefined && info.remotePort !== undefined && info.remotePort !== portBefore) {
      say(`${info.name}: ${info.server} now listens on port ${info.remotePort} (port ${portBefore} was still held)`);
    }
    if (before === info.state) return false;
    if (info.state === 'reconnecting') {
      // A tunnel that never was active waits for its server; it has not reconnected yet.
      if (before === 'active') entry.row.reconnects++;
      say(`${info.name}: ${before === 'active' ? 'reconnecting' : 'waiting for its server'} (${info.lastError ?? 'connection lost'})`);
    } else if (info.state === 'active' && before === 'reconnecting') say(`${info.name}: active${entry.row.reconnects ? ' again' : ''}`);
    else if (info.state === 'failed') {
      say(`${info.name}: failed: ${info.lastError ?? 'unknown error'}`);
      if (this.up.exitOnFailure) this.up.stop(`${info.name} failed: exiting (--exit-on-failure).`);
    }
    return true;
  }

  serverChanged(status: ServerStatus): void {
    const { say } = this.up;
    if (status.state === 'reconnecting' && status.nextAttemptAt !== undefined) {
      this.retrying.set(status.name, status);
      const again = this.connected.has(status.name) ? 'reconnecting' : 'connecting';
      say(`${status.name}: ${again}, attempt ${status.attempt ?? 1} ${inSeconds(status.nextAttemptAt)}${status.lastError ? ` (${status.lastError})` : ''}`);
    } else if (status.state !== 'reconnecting') this.retrying.delete(status.name);
    if (status.state === 'connected') {
      this.connected.add(status.name);
      say(`${status.name}: connected`);
    } else if (status.state === 'failed') {
      say(`${status.name}: failed${status.lastError ? ` (${status.lastError})` : ''}`);
      // A tunnel still opening says so itself when its start fails.
      const opening = this.up.entries.some((e) => e.spec.server === status.name && e.row.pending === 'opening');
      if (this.up.refused(status.lastErrorCode) && !opening) this.up.stop(`${status.name} refused: closing every tunnel (--keep-trying would keep them and retry).`);
    }
  }
}
