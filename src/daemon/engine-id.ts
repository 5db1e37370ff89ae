// The daemon's stable ID (docker info's ID), kept across restarts.
import { randomUUID } from 'node:crypto';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomicfile/index.js';

export async function loadEngineId(dataRoot: string): Promise<string> {
  const file = join(dataRoot, 'engine-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (id !== '') return id;
  } catch {
    /* first start */
  }
  const id = randomUUID();
  await mkdir(dataRoot, { recursive: true, mode: 0o711 });
  await writeFileAtomic(file, id + '\n');
  return id;
}
