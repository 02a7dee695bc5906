// The ids this room contributes (package.json has exactly these; test/unit/manifest.test.ts holds
// them together): the commands, the task type and its problem matcher, the link's path.

export const API_COMMANDS = {
  localPort: 'sshTunnels.localPort',
  localAddress: 'sshTunnels.localAddress',
  manageExtensionAccess: 'sshTunnels.manageExtensionAccess',
} as const;

/** The task type of tasks.json (`{ "type": "sshTunnel", "tunnel": "postgres" }`). */
export const TASK_TYPE = 'sshTunnel';

/**
 * The contributed background problem matcher: a task line starting `[opening]` makes the task busy,
 * one starting `[ready]` makes it ready, so preLaunchTask and dependsOn wait for the tunnel.
 */
export const PROBLEM_MATCHER = '$sshTunnel';

/** vscode://PUBLISHER.ssh-tunnels/open?… */
export const OPEN_PATH = '/open';
