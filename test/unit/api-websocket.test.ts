// RFC 6455 framing and handshake checks of attach/ws.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { acceptKey, checkHandshake, closePayload, encodeFrame, FrameDecoder, OPCODE, ProtocolError } from '../../src/api/websocket.js';

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

describe('handshake', () => {
  it('answers the key of RFC 6455 §1.3 with its accept value', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
  it('refuses what x/net/websocket refuses, with its texts', () => {
    const good = { upgrade: 'WebSocket', connection: 'keep-alive, Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    assert.deepEqual(checkHandshake('GET', good), { ok: true, accept: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' });
    assert.deepEqual(checkHandshake('POST', good), { ok: false, status: 405, message: 'bad method' });
    assert.deepEqual(checkHandshake('GET', { ...good, upgrade: 'tcp' }), { ok: false, status: 400, message: 'not websocket protocol' });
    assert.deepEqual(checkHandshake('GET', { ...good, 'sec-websocket-version': '8' }), { ok: false, status: 400, message: 'missing or bad WebSocket Version' });
    assert.deepEqual(checkHandshake('GET', { ...good, 'sec-websocket-key': '' }), { ok: false, status: 400, message: 'mismatch challenge/response' });
  });
});

describe('frames', () => {
  it('encodes RFC 6455 §5.7 examples', () => {
    assert.deepEqual(encodeFrame(OPCODE.text, Buffer.from('Hello')), Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
    assert.deepEqual(encodeFrame(OPCODE.text, Buffer.from('Hello'), { mask: MASK }), Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
    assert.deepEqual(encodeFrame(OPCODE.text, Buffer.from('Hel'), { fin: false }), Buffer.from([0x01, 0x03, 0x48, 0x65, 0x6c]));
    const big = encodeFrame(OPCODE.binary, Buffer.alloc(256));
    assert.deepEqual(big.subarray(0, 4), Buffer.from([0x82, 0x7e, 0x01, 0x00]));
    const huge = encodeFrame(OPCODE.binary, Buffer.alloc(65536));
    assert.deepEqual(huge.subarray(0, 10), Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]));
  });
  it('decodes masked frames split anywhere, with every length form', () => {
    const payloads = [Buffer.from('Hello'), Buffer.alloc(300, 7), Buffer.alloc(70000, 9)];
    const wire = Buffer.concat(payloads.map((p) => encodeFrame(OPCODE.binary, p, { mask: MASK })));
    for (const step of [1, 3, 7, 1000, wire.length]) {
      const d = new FrameDecoder({ requireMask: true });
      const got = [];
      for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)));
      assert.equal(got.length, 3);
      got.forEach((f, i) => {
        assert.equal(f.opcode, OPCODE.binary);
        assert.equal(f.fin, true);
        assert.deepEqual(f.payload, payloads[i]);
      });
    }
  });
  it('decodes fragments and control frames between them', () => {
    const wire = Buffer.concat([
      encodeFrame(OPCODE.text, Buffer.from('He'), { fin: false, mask: MASK }),
      encodeFrame(OPCODE.ping, Buffer.from('p'), { mask: MASK }),
      encodeFrame(OPCODE.continuation, Buffer.from('llo'), { mask: MASK }),
      encodeFrame(OPCODE.close, closePayload(1000, 'bye'), { mask: MASK }),
    ]);
    const frames = new FrameDecoder({ requireMask: true }).push(wire);
    assert.deepEqual(frames.map((f) => [f.opcode, f.fin, f.payload.toString('latin1')]), [
      [OPCODE.text, false, 'He'],
      [OPCODE.ping, true, 'p'],
      [OPCODE.continuation, true, 'llo'],
      [OPCODE.close, true, '\x03\xe8bye'],
    ]);
  });
  it('refuses unmasked client frames, reserved bits, bad opcodes, long control frames and oversized payloads', () => {
    const refuses = (wire: Buffer, code: number, opts: { maxPayload?: number } = {}): void =>
      assert.throws(() => new FrameDecoder({ requireMask: true, ...opts }).push(wire), (e: unknown) => e instanceof ProtocolError && e.code === code);
    refuses(encodeFrame(OPCODE.text, Buffer.from('x')), 1002);
    const rsv = encodeFrame(OPCODE.text, Buffer.from('x'), { mask: MASK });
    rsv[0] = rsv[0]! | 0x40;
    refuses(rsv, 1002);
    refuses(encodeFrame(0x3, Buffer.from('x'), { mask: MASK }), 1002);
    refuses(encodeFrame(OPCODE.ping, Buffer.alloc(126), { mask: MASK }), 1002);
    refuses(encodeFrame(OPCODE.ping, Buffer.from('x'), { fin: false, mask: MASK }), 1002);
    refuses(encodeFrame(OPCODE.binary, Buffer.alloc(11), { mask: MASK }), 1009, { maxPayload: 10 });
    // server frames are not masked: a client-side decoder takes them
    assert.equal(new FrameDecoder({ requireMask: false }).push(encodeFrame(OPCODE.text, Buffer.from('ok')))[0]?.payload.toString(), 'ok');
  });
});
