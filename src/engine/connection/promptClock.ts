import type { Prompts } from '../base/types';

/**
 * Prompts whose every question pauses a clock (the connect timeout) until the person answers:
 * reading a fingerprint or typing a password is not the server being slow. sshd's own
 * LoginGraceTime still bounds the whole login.
 */
export function pausingPrompts(prompts: Prompts | undefined, clock: { pause(): void; resume(): void }): Prompts | undefined {
  if (!prompts) return undefined;
  const timed =
    <A extends unknown[], R>(ask: ((...args: A) => Promise<R>) | undefined) =>
    (ask === undefined
      ? undefined
      : async (...args: A): Promise<R> => {
          clock.pause();
          try {
            return await ask.apply(prompts, args);
          } finally {
            clock.resume();
          }
        });
  return {
    password: timed(prompts.password),
    passphrase: timed(prompts.passphrase),
    keyboardInteractive: timed(prompts.keyboardInteractive),
    hostKey: timed(prompts.hostKey),
    // Waiting for a touch is the person's time too, until the notice is taken away.
    touchKey: prompts.touchKey
      ? (server: string, key: string) => {
          clock.pause();
          let dismiss: (() => void) | undefined;
          try {
            dismiss = prompts.touchKey!(server, key);
          } finally {
            if (!dismiss) clock.resume();
          }
          return () => {
            if (!dismiss) return;
            const d = dismiss;
            dismiss = undefined;
            clock.resume();
            d();
          };
        }
      : undefined,
  };
}
