// The ids of the extension's commands and of its view: package.json contributes exactly these
// (test/unit/manifest.test.ts holds the two together), and its settings page filter.

export const VIEW_ID = 'sshTunnels.tunnels';

export const COMMANDS = {
  createTunnel: 'sshTunnels.createTunnel',
  closeTunnel: 'sshTunnels.closeTunnel',
  stopTunnel: 'sshTunnels.stopTunnel',
  startTunnel: 'sshTunnels.startTunnel',
  restartTunnel: 'sshTunnels.restartTunnel',
  closeAll: 'sshTunnels.closeAll',
  closeServerTunnels: 'sshTunnels.closeServerTunnels',
  copyLocalAddress: 'sshTunnels.copyLocalAddress',
  openInBrowser: 'sshTunnels.openInBrowser',
  connectServer: 'sshTunnels.connectServer',
  disconnectServer: 'sshTunnels.disconnectServer',
  addServer: 'sshTunnels.addServer',
  showLog: 'sshTunnels.showLog',
  openSettings: 'sshTunnels.openSettings',
  forgetSecrets: 'sshTunnels.forgetSecrets',
  forgetServerSecrets: 'sshTunnels.forgetServerSecrets',
  refresh: 'sshTunnels.refresh',
  focus: 'sshTunnels.focus',
  keepTunnel: 'sshTunnels.keepTunnel',
  copyMcpConfig: 'sshTunnels.copyMcpConfig',
  editTunnel: 'sshTunnels.editTunnel',
  renameTunnel: 'sshTunnels.renameTunnel',
  removeTunnel: 'sshTunnels.removeTunnel',
  editServer: 'sshTunnels.editServer',
  defaultAction: 'sshTunnels.defaultAction',
  forwardPort: 'sshTunnels.forwardPort',
} as const;

/** The settings page's filter for this extension's settings. */
export const SETTINGS_FILTER = '@ext:tunnelworks.ssh-tunnels';
