// Sealing and opening one small AES-GCM packet: Node's cipher objects (a new one per packet, as
// ssh2 does) against the engine's small-packet path (src/engine/ssh2/gcmSmall.ts).
// `npx tsx bench/smallPackets.ts [--count N]`; one process, times in µs per packet.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SmallGcm } from '../src/engine/ssh2/gcmSmall';

const at = process.argv.indexOf('--count');
const COUNT = at > 0 ? Number(process.argv[at + 1]) : 200_000;

function next(iv: Buffer): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = (iv[i] + 1) & 0xff;
    if (iv[i] !== 0) return;
  }
}

/** µs per call of `step`, after a warm-up of a tenth as many calls. */
function time(step: (i: number) => void): number {
  for (let i = 0; i < COUNT / 10; i++) step(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) step(i);
  return Number(process.hrtime.bigint() - start) / 1000 / COUNT;
}

const key = randomBytes(16);
console.log('encrypted bytes | seal: Node, small path | open: Node, small path (µs per packet)');
for (const length of [16, 32, 80]) {
  const packet = randomBytes(4 + length);
  packet.writeUInt32BE(length, 0);
  const iv = randomBytes(12);
  const nodeSeal = time(() => {
    const gcm = createCipheriv('aes-128-gcm', key, iv);
    gcm.setAAD(packet.subarray(0, 4));
    Buffer.concat([packet.subarray(0, 4), gcm.update(packet.subarray(4)), gcm.final(), gcm.getAuthTag()]);
    next(iv);
  });
  const sealer = new SmallGcm('aes-128-gcm', key);
  const smallSeal = time(() => {
    sealer.seal(iv, packet);
    next(iv);
  });
  // Packets to open, each with its IV, sealed in order as a connection would receive them.
  const ivs: Buffer[] = [];
  const sealed: Buffer[] = [];
  for (let i = 0; i < 1024; i++) {
    ivs.push(Buffer.from(iv));
    sealed.push(sealer.seal(iv, packet));
    next(iv);
  }
  const nodeOpen = time((i) => {
    const s = sealed[i & 1023];
    const gcm = createDecipheriv('aes-128-gcm', key, ivs[i & 1023]);
    gcm.setAAD(s.subarray(0, 4));
    gcm.update(s.subarray(4, 4 + length));
    gcm.setAuthTag(s.subarray(4 + length));
    gcm.final();
  });
  const opener = new SmallGcm('aes-128-gcm', key);
  const smallOpen = time((i) => opener.open(ivs[i & 1023], sealed[i & 1023], 0));
  console.log(`${length} | ${nodeSeal.toFixed(2)}, ${smallSeal.toFixed(2)} | ${nodeOpen.toFixed(2)}, ${smallOpen.toFixed(2)}`);
}
