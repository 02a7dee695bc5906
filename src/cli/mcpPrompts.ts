// The engine's Prompts over MCP, where no terminal exists: an unknown host key is asked through
// elicitation when the client supports it, else refused with what to run to trust it first.
// Passwords and passphrases are never asked this way (MCP forbids eliciting secrets); the touch
// of a security key is asked for in the log.
// With `mcp --confirm`, the confirmation of a create or close is asked the same way.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { errorMessage, TunnelError, type HostKeyAnswer, type HostKeyQuestion, type Prompts } from '../engine';

/** How long a person has to answer a confirmation; no answer is a no. */
export const CONFIRM_TIMEOUT_MS = 5 * 60_000;

/** A confirmation as the tools phrase it (TunnelTools.confirmation), and what stays undone on a no. */
export interface ConfirmQuestion {
  title: string;
  message: string;
  /** E.g. "the tunnel was not opened". */
  undone: string;
}

export class McpPrompts implements Prompts {
  constructor(
    private readonly server: Server,
    /** The command a person runs in a terminal to trust a server's key, e.g. `ssh-tunnels trust db`. */
    private readonly trustCommand: (server: string) => string,
    private readonly log: (message: string) => void,
  ) {
    this.hostKey = this.hostKey.bind(this);
    this.touchKey = this.touchKey.bind(this);
  }

  /** No form waits for a touch: the line goes to the log (stderr), which MCP clients show as the server's output. */
  touchKey(server: string, key: string): () => void {
    this.log(`Confirm user presence for key ${key} (touch your security key for ${server})`);
    return () => undefined;
  }

  /** Whether the client can show a form to the person (MCP elicitation, form mode). */
  canAsk(): boolean {
    return this.server.getClientCapabilities()?.elicitation?.form !== undefined;
  }

  /** Asks the person to confirm; resolves to undefined on a yes, else to why not, in words for the agent. */
  async confirm(q: ConfirmQuestion, signal?: AbortSignal): Promise<string | undefined> {
    if (!this.canAsk()) {
      return (
        `Refused: ssh-tunnels mcp runs with --confirm, so the user must confirm this, and this MCP client cannot ask them (it does not support elicitation); ${q.undone}. ` +
        'Ask the user to do it themselves, or to use a client that supports elicitation.'
      );
    }
    try {
      const result = await this.server.elicitInput(
        {
          mode: 'form',
          message: `${q.title}\n\n${q.message}`,
          requestedSchema: {
            type: 'object',
            properties: { confirm: { type: 'boolean', title: 'Yes, do it', default: false } },
            required: ['confirm'],
          },
        },
        { signal, timeout: CONFIRM_TIMEOUT_MS },
      );
      if (result.action === 'accept' && result.content?.confirm === true) return undefined;
      const how = result.action === 'cancel' ? 'dismissed the question' : 'declined';
      return `The user ${how}: ${q.undone}. Do not try again unless the user asks for it.`;
    } catch (err) {
      // A question nobody answered is a no.
      this.log(`Could not ask to confirm "${q.title}": ${errorMessage(err)}`);
      return `The user could not be asked (${errorMessage(err)}): ${q.undone}.`;
    }
  }

  async hostKey(q: HostKeyQuestion): Promise<HostKeyAnswer> {
    const where = q.port === 22 ? q.host : `${q.host}:${q.port}`;
    const unknown = `The authenticity of ${q.server} (${where}) can't be established: its ${q.keyType} host key ${q.fingerprint} is not in known_hosts`;
    if (!this.canAsk()) {
      throw new TunnelError(
        'HOST_KEY_UNKNOWN',
        `${unknown}, and this MCP client cannot ask the user. To trust it, the user runs in a terminal: ${this.trustCommand(q.server)} ` +
          `(it shows the fingerprint and asks), or connects once with ssh and accepts the key. Then call this tool again.`,
        { fingerprint: q.fingerprint },
      );
    }
    try {
      const result = await this.server.elicitInput({
        mode: 'form',
        message: `${unknown}. Compare the fingerprint with the one the server's administrator gave you. Trust this key and connect?`,
        requestedSchema: {
          type: 'object',
          properties: {
            remember: { type: 'boolean', title: 'Remember this key in known_hosts', default: true },
          },
        },
      });
      const answer: HostKeyAnswer = result.action !== 'accept' ? 'reject' : result.content?.remember === false ? 'trust-once' : 'trust-remember';
      this.log(`Host key of ${q.server} (${q.keyType} ${q.fingerprint}): ${answer} (asked the MCP client)`);
      return answer;
    } catch (err) {
      // An unanswerable question never trusts a key.
      this.log(`Could not ask about the host key of ${q.server}: ${errorMessage(err)}`);
      return 'reject';
    }
  }
}
