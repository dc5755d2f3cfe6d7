import type Docker from "dockerode";
import type { Schema } from "./schema";

export type Props = Record<string, unknown>;

/** Resource options as read off the RegisterResource request. */
export interface ResourceOptions {
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  deletedWith?: string;
  customTimeouts?: { create?: string; update?: string; delete?: string };
}

/** One resource in the state file (the harness's checkpoint), keyed by URN. */
export interface ResourceRecord {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id?: string;
  parent?: string;
  /** Provider reference "urn::id" (custom resources only). */
  provider?: string;
  inputs: Props;
  outputs: Props;
  secretInputs: string[];
  secretOutputs: string[];
  /** Explicit and implicit dependencies (dependsOn plus resources whose outputs feed inputs). */
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: ResourceOptions;
  /** An old copy left by a create-before-delete replacement, deleted at the end of the run. */
  pendingDelete?: boolean;
  /** Errors of a create that failed half-way (the object exists); the next up updates it. */
  initErrors?: string[];
}

export interface StackOutput {
  value: unknown;
  secret: boolean;
}

export interface StackState {
  version: 1;
  project: string;
  stack: string;
  /** In dependency order: a resource comes after everything it depends on. */
  resources: ResourceRecord[];
  outputs: Record<string, StackOutput>;
}

/** What a handler gets to do its work. */
export interface OpContext {
  urn: string;
  type: string;
  name: string;
  /** The Docker client of the resource's docker provider (docker resources only). */
  docker?: Docker;
  /** Prints a progress note (redacted). */
  log(msg: string): void;
  /** "Now", possibly shifted by LOCAL_APPLY_NOW for renewal tests. */
  now(): Date;
}

export interface CreateResult {
  id: string;
  outputs: Props;
  /** Output properties the provider's schema marks secret (sensitive). */
  secretOutputs?: string[];
}

/** Thrown by create when the object exists but is not fully set up (Pulumi "initErrors"). */
export class PartialCreateError extends Error {
  constructor(
    message: string,
    public readonly id: string,
    public readonly outputs: Props,
  ) {
    super(message);
  }
}

/** One implemented resource type. */
export interface ResourceHandler {
  type: string;
  schema: Schema;
  /** Extra validation after the schema check (conflicting properties etc.). */
  validate?(inputs: Props): void;
  create(ctx: OpContext, inputs: Props): Promise<CreateResult>;
  /** In-place update; without it, every change replaces. */
  update?(ctx: OpContext, id: string, olds: Props, news: Props, oldOutputs: Props, changed: string[]): Promise<Props>;
  delete(ctx: OpContext, id: string, inputs: Props, outputs: Props): Promise<void>;
  /** A reason to replace although the inputs did not change (e.g. a certificate due for renewal). */
  replaceReason?(ctx: OpContext, rec: ResourceRecord): string | undefined;
  /** Overrides the schema diff (e.g. command's triggers rule). */
  diff?(olds: Props, news: Props): { changed: string[]; replaces: string[] };
}
