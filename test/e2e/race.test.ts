// Short form of the reload race (issue 4): 4 clients run, exec, stop and
// remove containers across runc / wrapped / flip / io.containerd.runc.v2
// while 20 reloads change args, drop and restore `flip` and move the
// default. The long form is `node dist/bench/race.js`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRaceResult, raceStep, runRace } from '../../bench/race.js';
import { loadInto, writeBenchImage } from '../../bench/image.js';
import { startBerthd, type BerthdHandle } from '../helpers/berthd.js';

let daemon: BerthdHandle | undefined;

before(async () => {
  daemon = await startBerthd({ config: raceStep(0).config, timeoutMs: 60_000 });
  await loadInto(daemon, await writeBenchImage(daemon.root));
});

after(async () => {
  await daemon?.cleanup();
});

test('reloads racing run/exec/stop/rm: no undocumented failure, no wrapper changed or deleted', { timeout: 180_000 }, async () => {
  assert.ok(daemon);
  const result = await runRace(daemon, { clients: 4, reloads: 20, minOps: 40, reloadGapMs: 100, budgetMs: 60_000 });
  const summary = formatRaceResult(result);
  assert.equal(result.reloads, 20, summary);
  assert.equal(result.reloadEvents, 20, summary);
  assert.ok(result.operations >= 40, `only ${result.operations} operations ran within the budget\n${summary}`);
  assert.equal(result.undocumentedFailures, 0, summary);
  assert.deepEqual(result.wrappers.violations, [], summary);
  // Both wrapper-bearing configurations of `wrapped` and the one of `flip` were written and are still there.
  assert.ok(result.wrappers.after >= 3, summary);
});
