// One side of many TCP connections in a process of its own, so that no process of a scale test
// or benchmark holds more file descriptors than its limit (each end of a connection is one).
// argv[2] is the role: `echo` serves an echo on loopback that counts its open connections;
// `clients` opens connections through a tunnel on request, checks each one's echo, holds them
// and closes them. Requests and answers go over IPC (test/helpers/fleet.ts is the other end).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';

export type CloseWay = 'end' | 'destroy' | 'reset';

export type FleetRequest =
  | { op: 'count' }
  | { op: 'open'; port: number; count: number; concurrency: number; size: number; timeoutMs: number }
  | { op: 'close'; ways: CloseWay[] }
  | { op: 'fds' };

export interface OpenResult {
  /** Connections whose echo came back whole with the same SHA-256, and held open. */
  verified: number;
  /** What went wrong with the others (the first few). */
  failures: string[];
  failed: number;
  ms: number;
}

export interface CloseResult {
  closed: number;
  ms: number;
}

/** What the clients hold: their file descriptors, connections held, and held ones that closed before asked. */
export interface ClientsState {
  fds: number;
  held: number;
  closedEarly: number;
}

/** What the echo counts: connections open now, and accepted since it started. */
export interface EchoCount {
  open: number;
  accepted: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const held: net.Socket[] = [];
/** Held connections that closed before they were asked to. */
let closedEarly = 0;
const countEarly = () => closedEarly++;

/** Connects, sends `size` random bytes, and resolves once the same bytes came back (by SHA-256); the socket stays open. */
function openOne(port: number, size: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const payload = randomBytes(size);
    const sent = createHash('sha256').update(payload).digest('hex');
    const hash = createHash('sha256');
    let received = 0;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let why: string | undefined;
    const onError = (err: Error) => (why ??= err.message);
    const onClose = () => {
      clearTimeout(timer);
      reject(new Error(why ?? `closed after ${received} of ${size} bytes`));
    };
    const timer = setTimeout(() => {
      why = `no whole echo within ${timeoutMs} ms (${received} of ${size} bytes)`;
      socket.destroy();
    }, timeoutMs);
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.once('connect', () => socket.write(payload));
    const onData = (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (received < size) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.once('close', countEarly);
      const digest = hash.digest('hex');
      if (received !== size || digest !== sent) {
        socket.destroy();
        reject(new Error(`echo differs: ${received} of ${size} bytes, SHA-256 ${digest.slice(0, 12)} against ${sent.slice(0, 12)}`));
        return;
      }
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

async function open(req: Extract<FleetRequest, { op: 'open' }>): Promise<OpenResult> {
  const start = now();
  const failures: string[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < req.count) {
      next++;
      try {
        held.push(await openOne(req.port, req.size, req.timeoutMs));
      } catch (err) {
        failed++;
        if (failures.length < 5) failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: req.concurrency }, worker));
  return { verified: held.length, failed, failures, ms: now() - start };
}

/** Ends every held connection, the i-th the way `ways[i % ways.length]`; resolves once each has closed. */
async function close(ways: CloseWay[]): Promise<CloseResult> {
  const start = now();
  const sockets = held.splice(0);
  await Promise.all(sockets.map((socket, i) => new Promise<void>((resolve) => {
    socket.off('close', countEarly);
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    const way = ways[i % ways.length];
    if (way === 'end') {
      // Reads on, so the far end's EOF arrives and the socket closes.
      socket.resume();
      socket.end();
    } else if (way === 'destroy') socket.destroy();
    else socket.resetAndDestroy();
  })));
  return { closed: sockets.length, ms: now() - start };
}

async function serveEcho(): Promise<() => EchoCount> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ noDelay: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  // A backlog as large as the kernel allows (somaxconn): a burst of connects from sshd is not dropped.
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
  process.send!({ ready: { port: (server.address() as net.AddressInfo).port } });
  return () => ({ open: sockets.size, accepted });
}

async function handle(req: FleetRequest, count?: () => EchoCount): Promise<unknown> {
  switch (req.op) {
    case 'count':
      if (!count) throw new Error('only the echo counts connections');
      return count();
    case 'open':
      return open(req);
    case 'close':
      return close(req.ways);
    case 'fds':
      return { fds: fs.readdirSync('/proc/self/fd').length, held: held.length, closedEarly } satisfies ClientsState;
  }
}

async function main(): Promise<void> {
  const role = process.argv[2];
  let count: (() => EchoCount) | undefined;
  if (role === 'echo') count = await serveEcho();
  else if (role === 'clients') process.send!({ ready: {} });
  else throw new Error(`unknown role ${role}`);
  process.on('message', (msg: { seq: number; req: FleetRequest }) => {
    handle(msg.req, count).then(
      (result) => process.send!({ seq: msg.seq, result }),
      (err: Error) => process.send!({ seq: msg.seq, error: err.message }),
    );
  });
}

process.on('disconnect', () => process.exit(0));
void main();
