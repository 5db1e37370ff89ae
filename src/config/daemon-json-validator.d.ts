// Type of the validator generated at build time (scripts/build-config-validator.mjs).
import type { ErrorObject } from 'ajv';

export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export declare const validate: CompiledValidator;
