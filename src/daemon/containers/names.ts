// Container ids and names: validation, random ids, Docker-style random names.
import { randomBytes, randomInt } from 'node:crypto';
import { invalidParameter } from '../../errors/index.js';

const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** Longer names serve no one and bloat every list and event; dockerd has no cap, berth refuses them clearly. */
export const MAX_NAME_LENGTH = 255;

/** Validates a requested name and returns it without the leading slash. */
export function normalizeName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare.length > MAX_NAME_LENGTH) {
    throw invalidParameter(`Invalid container name (${bare.slice(0, 32)}…): at most ${MAX_NAME_LENGTH} characters are allowed`);
  }
  return bare;
}

/** 64 hex characters whose 12-character short form is never all digits (it would read as a number). */
export function newContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

const ADJECTIVES = [
  'agile', 'amber', 'ardent', 'bold', 'brave', 'bright', 'calm', 'candid', 'clever', 'cosmic',
  'crisp', 'curious', 'daring', 'deft', 'eager', 'earnest', 'elated', 'fervent', 'fond', 'gentle',
  'gifted', 'glad', 'happy', 'hardy', 'humble', 'jolly', 'keen', 'kind', 'lively', 'lucid',
  'merry', 'mellow', 'nimble', 'noble', 'patient', 'placid', 'plucky', 'proud', 'quick', 'quiet',
  'radiant', 'serene', 'sharp', 'shrewd', 'steady', 'sunny', 'swift', 'tender', 'tidy', 'upbeat',
  'vivid', 'warm', 'wise', 'witty', 'zealous',
];

const SURNAMES = [
  'agnesi', 'archimedes', 'babbage', 'banach', 'bell', 'bohr', 'boole', 'cantor', 'carson', 'cauchy',
  'curie', 'darwin', 'dijkstra', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'fourier',
  'franklin', 'galois', 'gauss', 'germain', 'goodall', 'hamilton', 'hawking', 'hilbert', 'hopper', 'hubble',
  'hypatia', 'jacobi', 'kepler', 'knuth', 'lamarr', 'laplace', 'leibniz', 'lovelace', 'maxwell', 'meitner',
  'mendel', 'noether', 'newton', 'pascal', 'pasteur', 'planck', 'poincare', 'ramanujan', 'riemann', 'ritchie',
  'shannon', 'somerville', 'tesla', 'thompson', 'torvalds', 'turing', 'volta', 'wiles', 'wing', 'yalow',
];

const pick = (list: readonly string[]): string => list[randomInt(list.length)] as string;

/** adjective_surname; after collisions a digit is appended, as dockerd does. */
export function randomName(attempt = 0): string {
  const base = `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
  return attempt < 5 ? base : `${base}${randomInt(10)}`;
}
