// Tests start servers in child processes on ports chosen a moment earlier (scripts/lib/free-port.ts). Those ports must
// come from below the kernel's ephemeral range, where no listen(0) and no outgoing connection can take them in the
// meantime: a CI run lost `npm start` to EADDRINUSE when they did not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort } from '../../../../scripts/lib/free-port.js';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

test('free ports lie below the ephemeral range, are distinct, and can be listened on', async () => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length, 'one process never gets the same port twice');
  for (const port of ports) {
    assert.ok(port >= 10_000 && port < ephemeralStart, `${port} is below the ephemeral range (${ephemeralStart})`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
