// The engine's Prompts answered in a terminal: host keys as ssh asks (yes/no/fingerprint),
// passwords and passphrases read without echo, the touch of a security key as ssh asks for it.
// Questions are asked one at a time.
import { displayPath, type HostKeyAnswer, type HostKeyQuestion, type Prompts } from '../engine';
import { readLine, type TerminalStreams } from './terminal';

export interface TerminalPromptHooks {
  /** Called before a question is shown, with what it waits for (a live table says so and stops redrawing). */
  pause?(waitingFor: string): void;
  /** Every piece of text the question writes (a live table counts its lines, to take them away after). */
  wrote?(text: string): void;
  /** Called once it is answered. */
  resume?(): void;
}

export class TerminalPrompts implements Prompts {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly io: TerminalStreams;

  constructor(
    io: TerminalStreams,
    private readonly hooks: TerminalPromptHooks = {},
  ) {
    this.io = {
      input: io.input,
      output: {
        write: (text: string) => {
          hooks.wrote?.(text);
          return io.output.write(text);
        },
      },
    };
    // The engine may call these detached from the object.
    this.password = this.password.bind(this);
    this.passphrase = this.passphrase.bind(this);
    this.keyboardInteractive = this.keyboardInteractive.bind(this);
    this.hostKey = this.hostKey.bind(this);
    this.touchKey = this.touchKey.bind(this);
  }

  /** Runs one exchange with the person after the previous one finished. */
  private ask<T>(waitingFor: string, exchange: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.hooks.pause?.(waitingFor);
      try {
        return await exchange();
      } finally {
        this.hooks.resume?.();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  password(server: string, user: string): Promise<string | undefined> {
    return this.ask(`the password of ${user}@${server}`, () => readLine(this.io, `${user}@${server}'s password: `, { echo: false }));
  }

  passphrase(server: string, keyPath: string, retry?: string): Promise<string | undefined> {
    return this.ask(`the passphrase of ${displayPath(keyPath)}`, () => {
      if (retry) this.io.output.write(`${retry}\n`);
      return readLine(this.io, `Enter passphrase for key '${keyPath}' (${server}): `, { echo: false });
    });
  }

  keyboardInteractive(server: string, name: string, instructions: string, prompts: { prompt: string; echo: boolean }[]): Promise<string[] | undefined> {
    return this.ask(`an answer to ${server}'s question`, async () => {
      const header = [name, instructions].filter((s) => s.trim() !== '').join('\n');
      if (header) this.io.output.write(`${header}\n`);
      const answers: string[] = [];
      for (const p of prompts) {
        const answer = await readLine(this.io, `(${server}) ${p.prompt}`, { echo: p.echo });
        if (answer === undefined) return undefined;
        answers.push(answer);
      }
      return answers;
    });
  }

  /**
   * The line ssh prints while a security key signs, shown (in turn with the questions) until
   * the signing ends; a signing that ends before its turn shows nothing.
   */
  touchKey(server: string, key: string): () => void {
    let dismiss!: () => void;
    const signed = new Promise<void>((resolve) => (dismiss = resolve));
    let done = false;
    void signed.then(() => (done = true));
    void this.ask(`a touch of the security key ${key}`, async () => {
      if (done) return;
      this.io.output.write(`Confirm user presence for key ${key} (touch your security key for ${server})\n`);
      await signed;
    });
    return dismiss;
  }

  hostKey(q: HostKeyQuestion): Promise<HostKeyAnswer> {
    return this.ask(`a decision on the host key of ${q.server}`, async () => {
      const where = q.port === 22 ? q.host : `${q.host}:${q.port}`;
      this.io.output.write(`The authenticity of host '${q.server} (${where})' can't be established.\n${q.keyType} key fingerprint is ${q.fingerprint}.\n`);
      let prompt = 'Are you sure you want to continue connecting (yes/no/[fingerprint])? ';
      for (;;) {
        const answer = (await readLine(this.io, prompt, { echo: true }))?.trim();
        if (answer === undefined || answer.toLowerCase() === 'no') {
          this.io.output.write(`Host key of ${q.server} not trusted.\n`);
          return 'reject';
        }
        if (answer.toLowerCase() === 'yes' || answer === q.fingerprint) {
          this.io.output.write(`Trusted: ${q.keyType} ${q.fingerprint} of ${where} is added to known_hosts.\n`);
          return 'trust-remember';
        }
        if (answer.startsWith('SHA256:')) {
          this.io.output.write(`That is not the fingerprint the server sent (${q.fingerprint}).\n`);
          return 'reject';
        }
        prompt = "Please type 'yes', 'no' or the fingerprint: ";
      }
    });
  }
}
