// The `ssh-tunnels` command: the extension's tunnels outside VS Code, for MCP clients (`mcp`) and
// for people in a terminal (`up`, `trust`). Same engine, config layer and tool core.
import { errorMessage } from '../engine';
import { runAllow, runDeny } from './allow';
import { UsageError } from './args';
import { runPorts } from './ports';
import { runTrust } from './trust';
import { runUp } from './up';
import { VERSION } from './version';


const HELP = `Usage: ssh-tunnels <command> [options]

SSH tunnels (ssh -L, -R, -D) from the servers of ~/.ssh/config and a workspace's
.vscode/settings.json, as the SSH Tunnels extension for VS Code opens them.

Commands:
  up      open a workspace's tunnels (or -L/-R/-D forwards) and show them live until Ctrl-C
  mcp     serve the tunnel tools (ssh_tunnel_create, _list, _close, ssh_connection_status,
          ssh_server_ports) to an MCP client over stdio
  ports   list what a server listens on (ports, Unix sockets, their processes) and the -L for each
  trust   connect to a server once and decide in the terminal whether to trust its host key
  allow   let a folder's .vscode/settings.json (its servers, tunnels, ssh config) be used on
          this machine; until then "up" asks about it and "mcp --workspace" refuses it
  deny    forget that a folder was allowed

Options:
  --version, -V   print the version
  --help, -h      show this help; "ssh-tunnels <command> --help" for a command's options
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  up: runUp,
  // The MCP SDK loads only for `mcp`: `up` and `trust` start faster without it.
  mcp: async (argv) => (await import('./mcp')).runMcp(argv),
  trust: runTrust,
  allow: runAllow,
  deny: runDeny,
  ports: runPorts,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === 'help' && rest[0] && COMMANDS[rest[0]]) return COMMANDS[rest[0]](['--help']);
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`ssh-tunnels: unknown command ${JSON.stringify(command)}. The commands are: ${Object.keys(COMMANDS).join(', ')} (ssh-tunnels --help).\n`);
    return 2;
  }
  return run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
      // Whatever still holds the event loop (a half-closed socket) must not keep the command alive.
      setTimeout(() => process.exit(status), 2000).unref();
    },
    (err) => {
      process.stderr.write(`ssh-tunnels: ${err instanceof UsageError ? err.message : errorMessage(err)}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
