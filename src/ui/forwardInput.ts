// What a person types in the forward box, read as they mean it: OpenSSH's forms, a whole
// `-L/-R/-D …` whatever type was picked, and a bare port as the Ports view takes it (`3000` is
// 3000:localhost:3000), with the tunnel it would open said as a sentence, and a warning when it
// would listen beyond loopback.
import * as vscode from 'vscode';
import { parseForward, type ParsedForward } from '../config/forwardSpec';
import type { TunnelType } from '../engine';
import { isLoopback } from '../tools';
import { factsOfSpec, forwardSentence } from './rowWords';

export type ForwardReading =
  | {
      ok: true;
      forward: ParsedForward;
      /** The tunnel it opens, as a sentence. */
      sentence: string;
      /** Set when it listens beyond loopback: who else can then connect. */
      exposed?: string;
    }
  | { ok: false; error: string };

/** Whether the text is a whole forward with its flag (`-L 8080:db:80`): it names its own type. */
export function hasFlag(text: string): boolean {
  return /^(ssh\s+)?-[LRD]/.test(text.trim());
}

/** Reads what was typed; `type` is the one picked (a flag in the text wins), `server` the one it goes through. */
export function readForward(text: string, type: TunnelType | undefined, server: string): ForwardReading {
  const t = vscode.l10n.t;
  const value = text.trim();
  const bare = /^\d{1,5}$/.exec(value);
  // The Ports view's habit: a port alone forwards that port, to the same port on the other side.
  const written = bare && !hasFlag(value) && (type === 'local' || type === 'remote' || type === undefined) ? `${value}:localhost:${value}` : value;
  const parsed = parseForward(written, hasFlag(value) ? undefined : type);
  if (!parsed.ok) return parsed;
  const f = parsed.forward;
  const facts = factsOfSpec({ server, ...f });
  const reading: ForwardReading = { ok: true, forward: f, sentence: forwardSentence(facts) };
  // The wildcard addresses say it in words: they are what people type without meaning to.
  const where = (host: string) => (['', '*', '0.0.0.0', '::'].includes(host) ? t('every network interface ({0})', host || '*') : host);
  if (f.type === 'remote' && f.remotePath === undefined && !isLoopback(f.remoteHost ?? '127.0.0.1')) {
    reading.exposed = t('The server would listen on {0}: other machines that reach {1} could connect (if its sshd allows GatewayPorts).', where(f.remoteHost ?? ''), server);
  } else if (f.type !== 'remote' && f.localPath === undefined && !isLoopback(f.localHost ?? '127.0.0.1')) {
    reading.exposed = t('It would listen on {0}: other machines that reach this one could connect through {1}.', where(f.localHost ?? ''), server);
  }
  return reading;
}
