import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { chainIds, detectCompression, looksLikeTar, shortId, topChainId } from '../../src/daemon/images/digest.js';
import { tarBuffer } from '../fixtures/images.js';

const sha = (s: string): string => 'sha256:' + createHash('sha256').update(s).digest('hex');

describe('image digests', () => {
  it('computes chain IDs per the OCI image spec', () => {
    const a = sha('layer a');
    const b = sha('layer b');
    const c = sha('layer c');
    const ab = sha(`${a} ${b}`);
    assert.deepEqual(chainIds([a]), [a]);
    assert.deepEqual(chainIds([a, b, c]), [a, ab, sha(`${ab} ${c}`)]);
    assert.equal(topChainId([]), '');
    assert.equal(topChainId([a, b]), ab);
  });

  it('shortens IDs to 12 hex digits', () => {
    assert.equal(shortId('sha256:0123456789abcdef0000'), '0123456789ab');
    assert.equal(shortId('0123456789abcdef'), '0123456789ab');
  });

  it('recognises compressed streams', async () => {
    const tar = await tarBuffer([{ header: { name: 'x', type: 'file', mode: 0o644 }, data: Buffer.from('hi') }]);
    assert.equal(detectCompression(tar), 'none');
    assert.equal(detectCompression(gzipSync(tar)), 'gzip');
    assert.equal(detectCompression(Buffer.from('BZh91AY')), 'bzip2');
    assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  });

  it('tells a tar header from other bytes', async () => {
    const tar = await tarBuffer([{ header: { name: 'etc/', type: 'directory', mode: 0o755 } }]);
    assert.ok(looksLikeTar(tar.subarray(0, 512)));
    assert.ok(looksLikeTar(Buffer.alloc(512)));
    assert.ok(!looksLikeTar(Buffer.alloc(512, 'x')));
    assert.ok(!looksLikeTar(Buffer.from('{"not":"a tar"}')));
  });
});
