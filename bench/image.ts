// The one image every figure runs: busybox-static in a tiny docker-save
// archive, loaded into each daemon and imported into the floor's namespace.
import { dockerSaveArchiveFile } from '../test/fixtures/images.js';
import type { BenchContainerd } from './containerd.js';
import type { DaemonUnderTest } from './daemon.js';

export const BENCH_IMAGE = 'busybox:latest';
/** The same image as containerd names it (ctr has no short names). */
export const BENCH_IMAGE_FULL = 'docker.io/library/busybox:latest';

export async function writeBenchImage(dir: string): Promise<string> {
  return dockerSaveArchiveFile(dir, { repoTags: [BENCH_IMAGE] }, 'busybox-image.tar');
}

export async function loadInto(daemon: DaemonUnderTest, archive: string): Promise<void> {
  const r = await daemon.docker(['load', '-i', archive], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`docker load into ${daemon.socket} failed: ${r.stderr.trim() || r.stdout.trim()}`);
}

export async function importIntoCtr(containerd: BenchContainerd, namespace: string, archive: string): Promise<void> {
  const r = await containerd.ctr(namespace, ['images', 'import', archive], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`ctr images import into namespace ${namespace} failed: ${r.stderr.trim()}`);
}
