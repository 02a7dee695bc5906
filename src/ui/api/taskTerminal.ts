// What an sshTunnel task runs (a CustomExecution's pseudoterminal): it holds its tunnel open while
// it runs and tells its events; `[opening]` and `[ready]` lines drive the background problem
// matcher, so preLaunchTask and dependsOn wait for the tunnel. Ended (Terminate Task, or a task with
// "close": true), it lets go of the tunnel, which closes unless something else holds it.
import * as vscode from 'vscode';
import type { HeldTunnel, Hold } from '../../catalogue';
import { DisposableStore, errorMessage, plural, type TunnelManager } from '../../engine';
import { describePeer, type PeerTunnels } from '../../peers';
import { usage } from '../../tools';
import type { Requests, Target } from './requests';
import { TASK_TYPE } from './ids';

export interface TunnelTaskDefinition extends vscode.TaskDefinition {
  /** The name of a tunnel of the settings (or of an open one). */
  tunnel?: string;
  /** A tunnel described with the fields of the settings. */
  spec?: Record<string, unknown>;
  /** End the running tasks of this tunnel instead (for postDebugTask). */
  close?: boolean;
}

export interface TaskDeps {
  requests: Requests;
  manager: TunnelManager;
  peers?: PeerTunnels;
  log: vscode.LogOutputChannel;
}

/** What a task's definition asks for, as a request of the API. */
export function requestOf(definition: TunnelTaskDefinition): unknown {
  if (definition.tunnel !== undefined && definition.spec !== undefined) return { tunnel: definition.tunnel, ...definition.spec };
  return definition.tunnel !== undefined ? { tunnel: definition.tunnel } : definition.spec;
}

/** Whether two task definitions name the same tunnel. */
export function sameTunnel(a: TunnelTaskDefinition, b: TunnelTaskDefinition): boolean {
  if (a.tunnel !== undefined || b.tunnel !== undefined) return a.tunnel === b.tunnel;
  const canonical = (spec: Record<string, unknown> | undefined) => JSON.stringify(Object.entries(spec ?? {}).filter(([k]) => k !== 'name').sort());
  return canonical(a.spec) === canonical(b.spec);
}

/** A tunnel's name and where it goes, as the task's lines say it. */
function named(target: Target): string {
  return target.kind === 'spec' ? (target.spec.name ?? `${target.spec.type} ${target.spec.server}`) : target.name;
}

/** The base of both terminals: lines out, an end. */
abstract class TaskTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.written.event;
  readonly onDidClose = this.closed.event;
  protected readonly t = vscode.l10n.t;

  abstract open(): void;
  abstract close(): void;

  /** One line, its tag first (the problem matcher reads `[opening]` and `[ready]`). */
  protected line(tag: 'opening' | 'ready' | 'event' | 'error' | 'closed', text: string): void {
    this.written.fire(`[${tag}] ${text.replace(/\r?\n/g, ' ')}\r\n`);
  }

  /** Ends the task: 0 when it did its job; no code when it failed, which stops a launch waiting for it. */
  protected end(code?: number): void {
    this.closed.fire(code);
    this.written.dispose();
    this.closed.dispose();
  }
}

export class TunnelTaskTerminal extends TaskTerminal {
  private hold: Hold | undefined;
  private ended = false;
  private readonly abort = new AbortController();
  private readonly listening = new DisposableStore();

  constructor(
    private readonly deps: TaskDeps,
    private readonly definition: TunnelTaskDefinition,
    private readonly label: string,
  ) {
    super();
  }

  open(): void {
    void this.run();
  }

  /** The task was terminated: let go of the tunnel. */
  close(): void {
    this.ended = true;
    this.abort.abort();
    this.listening.dispose();
    void this.hold?.release();
  }

  private async run(): Promise<void> {
    let name = this.label;
    try {
      if (!vscode.workspace.isTrusted) throw new Error(this.t('Tasks open no tunnels in Restricted Mode: trust the workspace first.'));
      const target = this.deps.requests.parse(requestOf(this.definition), this.t('the task "{0}"', this.label), { loopback: false });
      name = named(target);
      this.line('opening', this.t('Opening {0} through {1}…', name, target.spec.server));
      this.hold = await this.deps.requests.hold(target, `task "${this.label}"`, { signal: this.abort.signal });
    } catch (err) {
      if (this.ended) return;
      this.line('error', this.t('Could not open {0}: {1}', name, errorMessage(err)));
      this.deps.log.warn(`Task "${this.label}": could not open ${name}: ${errorMessage(err)}`);
      void vscode.window.showErrorMessage(this.t('The task "{0}" could not open its SSH tunnel: {1}', this.label, errorMessage(err)));
      this.end();
      return;
    }
    if (this.ended) {
      await this.hold.release();
      return;
    }
    this.line('ready', this.t('{0} is open. {1}', this.hold.opened.info.name, this.served(this.hold.opened)));
    this.follow(this.hold);
  }

  private served(t: HeldTunnel): string {
    return `${usage(t.info)}${t.peer ? ` ${this.t('(served by {0})', describePeer(t.peer))}` : ''}`;
  }

  /** Tells the tunnel's events: reconnects (the task is busy until it is back), errors, new connections. */
  private follow(hold: Hold): void {
    let last = hold.opened.info;
    let connectionsTold = last.stats.connectionsTotal;
    let countTimer: NodeJS.Timeout | undefined;
    const tellConnections = () => {
      countTimer = undefined;
      const now = hold.current()?.info;
      if (!now || now.stats.connectionsTotal === connectionsTold) return;
      const fresh = now.stats.connectionsTotal - connectionsTold;
      connectionsTold = now.stats.connectionsTotal;
      this.line('event', this.t('{0} ({1} open, {2} in all)', plural(fresh, 'new connection'), now.stats.connectionsActive, now.stats.connectionsTotal));
    };
    const check = () => {
      if (this.ended) return;
      const now = hold.current();
      if (!now) {
        this.ended = true;
        this.listening.dispose();
        this.line('closed', this.t('{0} was closed; the task ends.', last.name));
        this.end(0);
        return;
      }
      const info = now.info;
      if (info.state !== last.state) {
        if (info.state === 'reconnecting') this.line('opening', this.t('{0}: the connection to {1} dropped; reconnecting…', info.name, info.server));
        else if (info.state === 'active') this.line('ready', this.t('{0} is active again.', info.name));
        else this.line('event', `${info.name}: ${info.state}`);
      }
      if (info.lastError && info.lastError !== last.lastError) this.line('event', `${info.name}: ${info.lastError}`);
      if (info.targetError !== last.targetError) this.line('event', info.targetError ? `${info.name}: ${info.targetError}` : this.t('{0} reaches its target again.', info.name));
      if (info.stats.connectionsTotal !== connectionsTold && !countTimer) countTimer = setTimeout(tellConnections, 1000);
      last = info;
    };
    this.listening.add(this.deps.manager.onDidChangeTunnel((info) => info.id === hold.at.here && check()));
    this.listening.add(hold.onDidMove(check));
    if (this.deps.peers) this.listening.add(this.deps.peers.onDidChange(() => hold.at.peer !== undefined && check()));
    this.listening.add({ dispose: () => countTimer && clearTimeout(countTimer) });
  }
}

/** A task with "close": true: ends the running tasks of its tunnel (for a postDebugTask). */
export class CloseTaskTerminal extends TaskTerminal {
  constructor(
    private readonly definition: TunnelTaskDefinition,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
  }

  open(): void {
    void this.run();
  }

  close(): void {}

  private async run(): Promise<void> {
    const running = vscode.tasks.taskExecutions.filter((e) => {
      const d = e.task.definition as TunnelTaskDefinition;
      return d.type === TASK_TYPE && !d.close && sameTunnel(d, this.definition);
    });
    const what = this.definition.tunnel ?? (typeof this.definition.spec?.name === 'string' ? this.definition.spec.name : JSON.stringify(this.definition.spec));
    if (!running.length) {
      this.line('closed', this.t('No running task holds {0}; nothing to end.', what));
      this.end(0);
      return;
    }
    const ended = Promise.all(
      running.map(
        (execution) =>
          new Promise<void>((resolve) => {
            const sub = vscode.tasks.onDidEndTask((e) => {
              if (e.execution !== execution && (e.execution.task.name !== execution.task.name || !sameTunnel(e.execution.task.definition, this.definition))) return;
              sub.dispose();
              resolve();
            });
          }),
      ),
    );
    for (const execution of running) execution.terminate();
    const timer = new Promise<void>((r) => setTimeout(r, 10_000));
    await Promise.race([ended, timer]);
    const names = running.map((e) => `"${e.task.name}"`).join(', ');
    this.log.info(`Task close of ${what}: ended ${names}.`);
    this.line('closed', this.t('Ended {0}; its tunnel closes unless something else holds it.', names));
    this.end(0);
  }
}
