// Images service: image name → target descriptor records.
import { fromWireImage, toWireImage } from './convert.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient } from './types.js';
import type { WireImage } from './wire.js';

const SVC = 'containerd.services.images.v1.Images';

interface ImageAnswer {
  image: WireImage | null;
}

export function imagesApi(rpc: Rpc): ContainerdClient['images'] {
  return {
    async get(name) {
      const res = await rpc.unary<ImageAnswer>(SVC, 'Get', { name });
      return fromWireImage(res.image);
    },

    async list(filters = []) {
      const res = await rpc.unary<{ images: WireImage[] }>(SVC, 'List', { filters });
      return res.images.map((i) => fromWireImage(i));
    },

    async create(image) {
      const res = await rpc.unary<ImageAnswer>(SVC, 'Create', { image: toWireImage(image) });
      return fromWireImage(res.image);
    },

    async update(image, fieldPaths) {
      const request: Record<string, unknown> = { image: toWireImage(image) };
      // Without a mask containerd replaces every field.
      if (fieldPaths !== undefined) request.updateMask = { paths: fieldPaths };
      const res = await rpc.unary<ImageAnswer>(SVC, 'Update', request);
      return fromWireImage(res.image);
    },

    async delete(name, sync = false) {
      await rpc.unary(SVC, 'Delete', { name, sync }, sync ? 'long' : 'short');
    },
  };
}
