import * as fs from 'node:fs';
import type { AuthHandlerMiddleware, AuthenticationType, ParsedKey } from 'ssh2';
import { displayPath, expandUserPath } from '../base/paths';
import { CertificateAgent } from './certificateAgent';
import { certificatesBeside, certificateStep } from './certificateSteps';
import { agentPathProblem, findAgent, isWindowsPipe } from './agentLocation';
import { identityFiles, type KeyCandidate, type NextAuth } from './identities';
import { acceptedAgent, keyTypeAccepted } from './keyAlgorithms';
import { securityKeyOfFile } from './securityKeys';
import { RememberedSecrets, unlockKey } from './rememberedSecrets';
import type { Prompts, ServerConfig } from '../base/types';

/** The agent ssh2 talks to: one that lists certificates too, over a Unix socket or a named pipe; ssh2's own for a Cygwin socket file on Windows. */
function agentFor(agent: string, server: ServerConfig, username: string, prompts: Prompts | undefined, attempts: string[], held: Set<string>): string | CertificateAgent {
  if (process.platform === 'win32' && !isWindowsPipe(agent)) return agent;
  // Called as a method: a prompts object may rely on `this`.
  const touchKey = prompts?.touchKey ? (key: string) => prompts.touchKey?.(server.alias, key) : undefined;
  return new CertificateAgent(agent, username, (why) => attempts.push(why), { touchKey, listed: (blob) => held.add(blob.toString('base64')) });
}

/**
 * Builds ssh2's authHandler: the methods OpenSSH tries, in its order (CertificateFile's
 * certificates, agent, identity files each followed by its certificate, keyboard-interactive,
 * password), asking the person only for what is missing. `attempts`
 * collects what was tried, so a final failure can say so.
 */
export function createAuthHandler(
  server: ServerConfig,
  username: string,
  prompts: Prompts | undefined,
  attempts: string[],
  secrets: RememberedSecrets = new RememberedSecrets(),
): AuthHandlerMiddleware {
  const keys: KeyCandidate[] = [];
  if (server.privateKey !== undefined) keys.push({ label: 'the configured key', load: () => server.privateKey! });
  const { files, explicit } = identityFiles(server);
  for (const file of files) keys.push({ label: file, file, load: () => fs.readFileSync(file) });

  const agent = findAgent(server.identityAgent)?.path;
  const steps: Array<() => Promise<NextAuth | undefined>> = [];
  const wants = (method: AuthenticationType, left: AuthenticationType[] | null) => left === null || left.includes(method);
  let methodsLeft: AuthenticationType[] | null = null;
  /** A password (typed, kept or configured) went out in the last step: kept only if not refused. */
  let sentPassword = false;
  const rememberPassword = (password: string) => secrets.rememberPassword(server.alias, username, password);

  /** The identities the agent listed (base64 blobs): a security key file it holds was offered through it. */
  const agentHolds = new Set<string>();
  const agentSteps: typeof steps = [];
  if (agent && !(server.identitiesOnly && explicit)) {
    agentSteps.push(async () => {
      if (!wants('publickey', methodsLeft)) return undefined;
      const problem = agentPathProblem(agent);
      if (problem) {
        attempts.push(`ssh-agent at ${agent} (${problem})`);
        return undefined;
      }
      attempts.push('ssh-agent');
      return { type: 'agent', username, agent: acceptedAgent(agentFor(agent, server, username, prompts, attempts, agentHolds), server) } as NextAuth;
    });
  }
  // Each key is read (and its passphrase asked) once, for the key and for its certificates.
  const loaded = new Map<KeyCandidate, Promise<ParsedKey | undefined>>();
  const loadKey = (candidate: KeyCandidate): Promise<ParsedKey | undefined> => {
    let key = loaded.get(candidate);
    if (!key) loaded.set(candidate, (key = parseCandidate(candidate, server, prompts, attempts, secrets, agentHolds)));
    return key;
  };
  const configured = ([] as string[]).concat(server.certificateFile ?? []).map((p) => expandUserPath(p));
  const beside = configured.length ? new Map<string, string>() : certificatesBeside(files);
  // ssh's order (sshconnect2.c, pubkey_prepare): CertificateFile's certificates, the agent, then each identity file followed by its KEY-cert.pub.
  for (const file of configured) steps.push(certificateStep(file, keys, loadKey, username, attempts, () => wants('publickey', methodsLeft)));
  steps.push(...agentSteps);
  for (const candidate of keys) {
    steps.push(async () => {
      if (!wants('publickey', methodsLeft)) return undefined;
      const key = await loadKey(candidate);
      if (!key) return undefined;
      if (!keyTypeAccepted(key.type, server)) {
        attempts.push(`key ${candidate.label} (${key.type} is not in PubkeyAcceptedAlgorithms)`);
        return undefined;
      }
      attempts.push(`key ${candidate.label}`);
      return { type: 'publickey', username, key } as NextAuth;
    });
    const certificate = candidate.file && beside.get(candidate.file);
    if (certificate) steps.push(certificateStep(certificate, [candidate], loadKey, username, attempts, () => wants('publickey', methodsLeft), true));
  }
  steps.push(async () => {
    if (!wants('keyboard-interactive', methodsLeft)) return undefined;
    if (server.password === undefined && !prompts?.keyboardInteractive) return undefined;
    attempts.push('keyboard-interactive');
    return {
      type: 'keyboard-interactive',
      username,
      prompt: (name: string, instructions: string, _lang: string, questions: { prompt: string; echo?: boolean }[], finish: (answers: string[]) => void) => {
        const asked = questions.map((q) => ({ prompt: q.prompt, echo: q.echo ?? false }));
        const passwordLike = asked.length === 1 && !asked[0].echo && /password/i.test(asked[0].prompt);
        const known = passwordLike ? (server.password ?? secrets.password(server.alias, username)) : undefined;
        if (known !== undefined) {
          sentPassword = true;
          finish([known]);
          return;
        }
        if (asked.length === 0) {
          finish([]);
          return;
        }
        if (!prompts?.keyboardInteractive) {
          finish([]);
          return;
        }
        // Called as a method: a prompts object may rely on `this`.
        prompts.keyboardInteractive(server.alias, name, instructions, asked).then(
          (answers) => {
            if (passwordLike && answers?.length === 1) {
              rememberPassword(answers[0]);
              sentPassword = true;
            }
            finish(answers ?? []);
          },
          () => finish([]),
        );
      },
    } as NextAuth;
  });
  steps.push(async () => {
    if (!wants('password', methodsLeft)) return undefined;
    let password = server.password ?? secrets.password(server.alias, username);
    if (password === undefined && prompts?.password) {
      password = await prompts.password(server.alias, username);
      if (password !== undefined) rememberPassword(password);
    }
    if (password === undefined) return undefined;
    sentPassword = true;
    attempts.push('password');
    return { type: 'password', username, password } as NextAuth;
  });

  let next = 0;
  let triedNone = false;
  return (left, partial, done) => {
    methodsLeft = left;
    // Asked again without a partial success: the server refused the password just sent.
    if (sentPassword && !partial) secrets.forgetPassword(server.alias, username);
    sentPassword = false;
    if (!triedNone) {
      triedNone = true;
      done({ type: 'none', username } as NextAuth);
      return;
    }
    const advance = (): void => {
      if (next >= steps.length) {
        done(false as unknown as NextAuth);
        return;
      }
      steps[next++]().then(
        (auth) => (auth ? done(auth) : advance()),
        () => advance(),
      );
    };
    advance();
  };
}

/** Reads and parses a key, asking for its passphrase if it needs one; undefined (with the reason in `attempts`) when it cannot be used. */
async function parseCandidate(
  candidate: KeyCandidate,
  server: ServerConfig,
  prompts: Prompts | undefined,
  attempts: string[],
  secrets: RememberedSecrets,
  agentHolds: ReadonlySet<string>,
): Promise<ParsedKey | undefined> {
  let raw: Buffer | string;
  try {
    raw = candidate.load();
  } catch (err) {
    attempts.push(`key ${candidate.label} (unreadable: ${(err as Error).message})`);
    return undefined;
  }
  const securityKey = securityKeyOfFile(raw);
  if (securityKey) {
    // The file holds only a handle: the FIDO device signs, and this side reaches one only through an agent.
    const file = candidate.file ? displayPath(candidate.file) : candidate.label;
    attempts.push(
      agentHolds.has(securityKey.toString('base64'))
        ? `key ${file} (a security key the agent holds: offered through ssh-agent)`
        : `key ${file} (a security key: add it to your ssh-agent with ssh-add ${file}; SSH Tunnels signs with security keys only through an agent)`,
    );
    return undefined;
  }
  // Asked once per program (kept in memory), up to three tries, as ssh allows.
  const key = await unlockKey(raw, server, candidate.label, prompts, secrets);
  if (typeof key === 'string') {
    attempts.push(`key ${candidate.label} (${key})`);
    return undefined;
  }
  return key;
}
