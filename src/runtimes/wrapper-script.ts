// Content and file name of a runtime wrapper script: pure functions.
import { createHash } from 'node:crypto';

/** One sh word that stands for exactly `s`: single quotes, each `'` written as '\''. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * A POSIX sh script that runs `binary` with exactly `args`, then whatever the
 * shim passes. The runtime's name is deliberately not in the content: names
 * are free text and stay out of anything executed.
 */
export function wrapperScript(binary: string, args: readonly string[]): string {
  const words = [binary, ...args].map(shellQuote).join(' ');
  return `#!/bin/sh\n# berth runtime wrapper: generated, never edited in place.\nexec ${words} "$@"\n`;
}

const MAX_NAME_PART = 100;

/**
 * A file-name-safe form of a runtime name: only [A-Za-z0-9_.-], no leading
 * dot and no `..`, never empty, so the file always lands inside its folder.
 */
export function safeWrapperName(runtimeName: string): string {
  const safe = runtimeName
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/\.{2,}/g, (dots) => '_'.repeat(dots.length))
    .replace(/^\./, '_')
    .slice(0, MAX_NAME_PART);
  return safe === '' ? '_' : safe;
}

export function sha256Hex(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** `<safe-name>.<sha256 of content>`: same file name ⇒ same content. */
export function wrapperFileName(runtimeName: string, content: string): string {
  return `${safeWrapperName(runtimeName)}.${sha256Hex(content)}`;
}
