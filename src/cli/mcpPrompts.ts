// The engine's Prompts over MCP, where no terminal exists: an unknown host key is asked through
// elicitation when the client supports it, else refused with what to run to trust it first.
// Passwords and passphrases are never asked this way (MCP forbids eliciting secrets).
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { errorMessage, TunnelError, type HostKeyAnswer, type HostKeyQuestion, type Prompts } from '../engine';

export class McpPrompts implements Prompts {
  constructor(
    private readonly server: Server,
    /** The command a person runs in a terminal to trust a server's key, e.g. `ssh-tunnels trust db`. */
    private readonly trustCommand: (server: string) => string,
    private readonly log: (message: string) => void,
  ) {
    this.hostKey = this.hostKey.bind(this);
  }

  async hostKey(q: HostKeyQuestion): Promise<HostKeyAnswer> {
    const where = q.port === 22 ? q.host : `${q.host}:${q.port}`;
    const unknown = `The authenticity of ${q.server} (${where}) can't be established: its ${q.keyType} host key ${q.fingerprint} is not in known_hosts`;
    if (!this.server.getClientCapabilities()?.elicitation?.form) {
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
