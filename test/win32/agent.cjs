// A Windows stand-in for an ssh-agent, run by node.exe: serves the agent protocol on a named pipe
// (`\\.\pipe\openssh-ssh-agent`, as Windows' OpenSSH agent service, or Pageant's), signing with
// key files (PKCS#8 PEM, with the SSH public key blob beside each). It writes a line to its log
// file when it listens and for each signature, so a test knows the login went through it.
// Usage: node.exe agent.cjs PIPE LOG KEY.pem[,KEY.pem…]   (KEY.pem.pub holds the blob in base64)
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');

const [pipe, log, keyList] = process.argv.slice(2);
const say = (line) => fs.appendFileSync(log, line + '\n');

function sshString(buf) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

function mpint(buf) {
  let i = 0;
  while (i < buf.length - 1 && buf[i] === 0) i++;
  const trimmed = buf.subarray(i);
  return sshString(trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

const keys = keyList.split(',').map((file) => {
  const blob = Buffer.from(fs.readFileSync(file + '.pub', 'utf8').trim(), 'base64');
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
  return { blob, type, key: crypto.createPrivateKey(fs.readFileSync(file, 'utf8')), file };
});

function sign(k, data, flags) {
  if (k.type === 'ssh-ed25519') return Buffer.concat([sshString(Buffer.from(k.type)), sshString(crypto.sign(null, data, k.key))]);
  if (k.type === 'ssh-rsa') {
    // SSH_AGENT_RSA_SHA2_256 = 2, _512 = 4.
    const [name, hash] = flags & 4 ? ['rsa-sha2-512', 'sha512'] : flags & 2 ? ['rsa-sha2-256', 'sha256'] : ['ssh-rsa', 'sha1'];
    return Buffer.concat([sshString(Buffer.from(name)), sshString(crypto.sign(hash, data, k.key))]);
  }
  if (k.type === 'ecdsa-sha2-nistp256') {
    const rs = crypto.sign('sha256', data, { key: k.key, dsaEncoding: 'ieee-p1363' });
    return Buffer.concat([sshString(Buffer.from(k.type)), sshString(Buffer.concat([mpint(rs.subarray(0, 32)), mpint(rs.subarray(32))]))]);
  }
  throw new Error(`cannot sign with ${k.type}`);
}

function answer(type, payload) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(payload.length + 1);
  return Buffer.concat([len, Buffer.from([type]), payload]);
}

function reply(request) {
  const type = request[0];
  if (type === 11) {
    // SSH_AGENTC_REQUEST_IDENTITIES → SSH_AGENT_IDENTITIES_ANSWER
    const count = Buffer.alloc(4);
    count.writeUInt32BE(keys.length);
    return answer(12, Buffer.concat([count, ...keys.flatMap((k) => [sshString(k.blob), sshString(Buffer.from(k.file))])]));
  }
  if (type === 13) {
    // SSH_AGENTC_SIGN_REQUEST: string key blob, string data, uint32 flags → SSH_AGENT_SIGN_RESPONSE
    const blobLen = request.readUInt32BE(1);
    const blob = request.subarray(5, 5 + blobLen);
    const dataLen = request.readUInt32BE(5 + blobLen);
    const data = request.subarray(9 + blobLen, 9 + blobLen + dataLen);
    const flags = request.readUInt32BE(9 + blobLen + dataLen);
    const k = keys.find((c) => c.blob.equals(blob));
    if (!k) return answer(5, Buffer.alloc(0));
    say(`signed with ${k.type} (flags ${flags})`);
    return answer(14, sshString(sign(k, data, flags)));
  }
  return answer(5, Buffer.alloc(0)); // SSH_AGENT_FAILURE
}

const server = net.createServer((socket) => {
  let buffered = Buffer.alloc(0);
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
      const len = buffered.readUInt32BE(0);
      socket.write(reply(buffered.subarray(4, 4 + len)));
      buffered = buffered.subarray(4 + len);
    }
  });
});
server.listen(pipe, () => say(`listening on ${pipe}`));
