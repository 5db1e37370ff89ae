// Choosing one manifest of an index for a platform, as containerd's
// platform matcher does: exact variant first, then lower variants of the
// same architecture (amd64 falls back to 386), attestations skipped.
import type { Descriptor, Platform } from './types.js';

const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386', armhf: 'arm', armel: 'arm' };

function norm(p: Partial<Platform>): Platform {
  const architecture = ARCH_ALIASES[p.architecture ?? ''] ?? p.architecture ?? '';
  let variant = p.variant;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os: (p.os ?? '').toLowerCase(), architecture };
  if (variant) out.variant = variant;
  return out;
}

/** Lower is better; undefined: does not run there. */
function rank(want: Platform, have: Platform, exact: boolean): number | undefined {
  if (have.os !== want.os) return undefined;
  if (have.architecture === want.architecture) {
    if (!want.variant || !have.variant) return have.variant === want.variant ? 0 : 1;
    if (have.variant === want.variant) return 0;
    if (exact) return undefined;
    // arm/v7 runs v6 and v5; amd64/v3 runs v2.
    const w = Number(want.variant.replace(/^v/, ''));
    const h = Number(have.variant.replace(/^v/, ''));
    return Number.isFinite(w) && Number.isFinite(h) && h < w ? 1 + (w - h) : undefined;
  }
  if (exact) return undefined;
  if (want.architecture === 'amd64' && have.architecture === '386') return 10;
  if (want.architecture === 'arm64' && have.architecture === 'arm') return 10 + (8 - Number((have.variant ?? 'v7').replace(/^v/, '')));
  return undefined;
}

/** The best manifest of an index for `want`; `exact` for an explicit --platform. */
export function chooseManifest(manifests: readonly Descriptor[], want: Platform, exact: boolean): Descriptor | undefined {
  const w = norm(want);
  let best: { d: Descriptor; r: number } | undefined;
  for (const d of manifests) {
    if (!d.platform) continue;
    if (d.platform.os === 'unknown' || d.platform.architecture === 'unknown') continue;
    const r = rank(w, norm(d.platform), exact);
    if (r !== undefined && (!best || r < best.r)) best = { d, r };
  }
  return best?.d;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
