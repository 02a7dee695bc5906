// The agent tools over the engine, as one object both VS Code's language-model tools and the MCP
// server call: it finds the tool by name and hands the call to its file (create, list, close,
// status, ports), each with its input checks, confirmation in plain words and result.
import { FrontDoor, type TunnelDoor } from '../catalogue';
import { close, closeConfirmation } from './close';
import { create, createConfirmation } from './create';
import { toolDefinition, TOOL_DEFINITIONS } from './definitions';
import type { ToolHost, ToolResult } from './host';
import { ToolError } from './input';
import { list } from './list';
import { ports } from './ports';
import { status } from './status';

export class TunnelTools {
  private readonly door: TunnelDoor<'agent'>;

  constructor(private readonly host: ToolHost) {
    this.door = host.door ?? new FrontDoor(host.manager, host.peers);
  }

  /** Checks the input (throws ToolError) and says in plain words what will happen; undefined for read-only tools. */
  confirmation(name: string, input: unknown): { title: string; message: string } | undefined {
    const definition = this.definition(name);
    if (!definition.needsConfirmation) return undefined;
    return name === 'ssh_tunnel_create' ? createConfirmation(this.host, input) : closeConfirmation(this.host, input);
  }

  /**
   * Waits for background work of the ssh config (a `Match exec` still running) on the server an
   * input names, so the checks read its final settings without running it synchronously.
   */
  async ready(input: unknown): Promise<void> {
    const server = input && typeof input === 'object' ? (input as { server?: unknown }).server : undefined;
    if (typeof server === 'string') await this.host.servers.whenReady?.(server);
  }

  async invoke(name: string, input: unknown, signal?: AbortSignal): Promise<ToolResult> {
    this.definition(name);
    // The peers found at start have told their tunnels (a few hundred ms at most).
    await this.host.peers?.ready();
    switch (name) {
      case 'ssh_tunnel_create':
        await this.ready(input);
        return create(this.host, this.door, input, signal);
      case 'ssh_tunnel_list':
        return list(this.host, input);
      case 'ssh_tunnel_close':
        return close(this.host, input);
      case 'ssh_server_ports':
        await this.ready(input);
        return ports(this.host, input);
      default:
        return status(this.host, input);
    }
  }

  private definition(name: string) {
    const definition = toolDefinition(name);
    if (!definition) throw new ToolError(`There is no tool ${JSON.stringify(name)}. The tools are: ${TOOL_DEFINITIONS.map((d) => d.name).join(', ')}.`);
    return definition;
  }
}
