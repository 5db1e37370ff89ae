// berthd under systemd: sd_notify READY/RELOADING/STOPPING observed on a test
// NOTIFY_SOCKET, and the unit file's promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd, runCommand, berthdBin, repoRoot, sleep } from '../helpers/berthd.js';

test('sd_notify: READY at start, RELOADING then READY around a reload, STOPPING at shutdown', async () => {
  const dir = mkdtempSync('/tmp/berth-notify-');
  const sock = join(dir, 'notify.sock');
  const receiver = spawn('socat', ['-u', `UNIX-RECV:${sock}`, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let got = '';
  receiver.stdout.on('data', (c: Buffer) => (got += c.toString()));
  try {
    for (let i = 0; i < 100 && !got && receiver.exitCode === null; i++) {
      await sleep(20);
      if ((await runCommand('test', ['-S', sock])).code === 0) break;
    }
    const d = await startBerthd({ env: { NOTIFY_SOCKET: sock } });
    try {
      const waitFor = async (re: RegExp): Promise<void> => {
        for (let i = 0; i < 200 && !re.test(got); i++) await sleep(25);
        assert.match(got, re);
      };
      await waitFor(/READY=1/);
      assert.match(got, new RegExp(`MAINPID=${d.pid}`));
      d.writeConfig({ runtimes: { x: { path: '/usr/sbin/runc' } } });
      const r = await runCommand(process.execPath, [berthdBin, 'reload', '-H', `unix://${d.socket}`]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(/RELOADING=1\nMAINPID=\d+\nMONOTONIC_USEC=\d+\nREADY=1\nSTATUS=configuration reloaded/);
      await d.stop();
      await waitFor(/STOPPING=1/);
    } finally {
      await d.cleanup();
    }
  } finally {
    receiver.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the systemd unit: notify type, reload that waits, containers survive restarts', () => {
  const unit = readFileSync(join(repoRoot, 'packaging', 'berthd.service'), 'utf8');
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^ExecReload=@BERTHD@ reload$/m);
  assert.match(unit, /^Delegate=yes$/m);
  assert.match(unit, /^KillMode=process$/m);
  assert.match(unit, /^LimitNOFILE=/m);
});

test('the socket unit: berthd.service takes the API socket from berthd.socket with -H fd://, mode 0660, group berth', () => {
  const socket = readFileSync(join(repoRoot, 'packaging', 'berthd.socket'), 'utf8');
  assert.match(socket, /^ListenStream=\/run\/berth\/berth\.sock$/m);
  assert.match(socket, /^SocketMode=0660$/m);
  assert.match(socket, /^SocketGroup=berth$/m);
  assert.match(socket, /^WantedBy=sockets\.target$/m);
  const unit = readFileSync(join(repoRoot, 'packaging', 'berthd.service'), 'utf8');
  assert.match(unit, /^ExecStart=@BERTHD@ -H fd:\/\/$/m);
  assert.match(unit, /^Requires=berthd\.socket$/m);
  const install = readFileSync(join(repoRoot, 'scripts', 'install.sh'), 'utf8');
  assert.match(install, /packaging\/berthd\.socket" \/etc\/systemd\/system\/berthd\.socket/);
  assert.match(install, /systemctl enable --now berthd\.socket/);
});
