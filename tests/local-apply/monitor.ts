/**
 * A resource monitor for @pulumi/pulumi's mock runtime that reads the full RegisterResource
 * request (inputs with their secretness, protect, retainOnDelete, deleteBeforeReplace,
 * dependsOn, ignoreChanges, replaceOnChanges, parent, provider, …) and hands it to the Engine,
 * which really creates the resource (or, in a preview, plans it). Options it does not
 * implement are refused by name. It is built on the project's own @pulumi/pulumi copy.
 */
import type { Engine, Goal } from "./engine";
import { makeUrn } from "./engine";
import type { PulumiSdk } from "./project";
import { handlerFor } from "./providers/index";
import { NotImplementedError, UNKNOWN } from "./schema";
import type { Props, ResourceOptions } from "./types";

/* eslint-disable @typescript-eslint/no-explicit-any */

/** The SDK's Unknown (recognised by its flag, like the SDK does across copies) becomes UNKNOWN. */
function markUnknowns(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if ((v as { __pulumiUnknown?: unknown }).__pulumiUnknown === true) return UNKNOWN;
  if (Array.isArray(v)) return v.map(markUnknowns);
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markUnknowns(x)]));
}

/**
 * Deserializes a request Struct into plain values and the names of secret top-level
 * properties; values not known yet (a preview's unknowns, at any depth) are kept as UNKNOWN.
 */
export function deserializeStruct(rpc: any, struct: any, what: string): { values: Props; secretKeys: string[] } {
  const raw = struct ? struct.toJavaScript() : {};
  const values: Props = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    let d = rpc.deserializeProperty(v, true);
    if (rpc.isRpcSecret(d)) secretKeys.push(k);
    while (rpc.isRpcSecret(d)) d = rpc.unwrapRpcSecret(d);
    d = markUnknowns(d);
    if (d === undefined) continue;
    assertPlain(d, `${what}.${k}`);
    values[k] = d;
  }
  return { values, secretKeys };
}

function assertPlain(v: unknown, where: string): void {
  if (v === null || ["string", "number", "boolean"].includes(typeof v)) return;
  if (Array.isArray(v)) return v.forEach((x, i) => assertPlain(x, `${where}[${i}]`));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) assertPlain(x, `${where}.${k}`);
    return;
  }
  throw new NotImplementedError(`${where}: values of this kind (assets, archives, resource references) are not implemented by the local apply harness`);
}

/** Plain outputs to a Struct, wrapping secret ones the way the engine returns them. */
function toStruct(sdk: PulumiSdk, outputs: Props, secretKeys: string[]): any {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(JSON.parse(JSON.stringify(outputs)) as Props)) {
    obj[k] = secretKeys.includes(k) ? { [sdk.rpc.specialSigKey]: sdk.rpc.specialSecretSig, value: v } : v;
  }
  return sdk.structproto.Struct.fromJavaScript(obj);
}

function readOptions(req: any): ResourceOptions {
  const ct = req.getCustomtimeouts?.();
  const customTimeouts =
    ct && (ct.getCreate() || ct.getUpdate() || ct.getDelete())
      ? { create: ct.getCreate() || undefined, update: ct.getUpdate() || undefined, delete: ct.getDelete() || undefined }
      : undefined;
  return {
    protect: req.getProtect() === true,
    retainOnDelete: req.getRetainondelete() === true,
    deleteBeforeReplace: req.getDeletebeforereplace() === true,
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    deletedWith: req.getDeletedwith() || undefined,
    customTimeouts,
  };
}

function refuseUnsupported(req: any): void {
  const what = `${req.getType()} ${req.getName()}`;
  const refuse = (opt: string) => {
    throw new NotImplementedError(`${what}: resource option '${opt}' is not implemented by the local apply harness`);
  };
  if (req.getRemote()) refuse("remote (multi-language components)");
  if (req.getImportid()) refuse("import");
  if ((req.getAliasesList?.() ?? []).length || (req.getAliasurnsList?.() ?? []).length) refuse("aliases");
  if ((req.getReplaceWithList?.() ?? []).length) refuse("replaceWith");
  if (req.getReplacementTrigger?.()) refuse("replacementTrigger");
  if ((req.getTransformsList?.() ?? []).length) refuse("transforms");
  const hooks = req.getHooks?.();
  if (hooks && Object.values(hooks.toObject()).some((l) => Array.isArray(l) && l.length > 0)) refuse("hooks");
  if (req.getEnvvarmappingsMap?.()?.getLength?.() > 0) refuse("envVarMappings");
}

export interface LocalMonitor {
  /** What the program exported (the stack's registered outputs), once it has run. */
  stackOutputs: { values: Props; secretKeys: string[] } | undefined;
}

type MockMonitorClass = new (mocks: unknown) => { resources: Map<string, unknown>; invoke(req: any, callback: (err: any, resp?: any) => void): void };

/** A monitor for the runtime of `sdk` (the project's @pulumi/pulumi), driving `engine`. */
export function createLocalMonitor(sdk: PulumiSdk, engine: Engine, stack: string, project: string, config: Record<string, unknown>): LocalMonitor {
  const Base = sdk.mocks.MockMonitor as MockMonitorClass;
  return new (localMonitorClass(Base, sdk))(engine, stack, project, config);
}

function localMonitorClass(Base: MockMonitorClass, sdk: PulumiSdk) {
  return class extends Base implements LocalMonitor {
    stackOutputs: { values: Props; secretKeys: string[] } | undefined;
    private readonly defaultProviders = new Map<string, Promise<string>>();

    constructor(
      private readonly engine: Engine,
      private readonly stack: string,
      private readonly project: string,
      private readonly config: Record<string, unknown>,
    ) {
      super({
        newResource: () => {
          throw new Error("unreachable");
        },
        call: () => {
          throw new Error("unreachable");
        },
      });
    }

    registerResource(req: any, callback: (err: any, resp?: any) => void): void {
      this.register(req).then(
        (resp) => callback(null, resp),
        (err) => callback(err),
      );
    }

    private async register(req: any): Promise<any> {
      const type: string = req.getType();
      const name: string = req.getName();
      const parent: string | undefined = req.getParent() || undefined;
      const urn = makeUrn(this.stack, this.project, parent, type, name);
      const custom: boolean = req.getCustom();
      let provider: string | undefined;
      let goal: Goal | undefined;
      try {
        refuseUnsupported(req);
        if (custom) handlerFor(type); // refuse an unimplemented type by its own name, before its provider
        const { values, secretKeys } = deserializeStruct(sdk.rpc, req.getObject(), `${type} ${name}`);
        if (custom && !type.startsWith("pulumi:providers:")) {
          provider = req.getProvider() || (await this.defaultProvider(type.split(":")[0], req.getVersion()));
        }
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
          propertyDependencies[key] = deps.getUrnsList();
        });
        goal = {
          urn,
          type,
          name,
          custom,
          parent,
          provider,
          inputs: values,
          secretInputs: secretKeys,
          options: readOptions(req),
          dependencies: req.getDependenciesList(),
          propertyDependencies,
        };
      } catch (e) {
        this.engine.errors.push({ urn, error: e as Error });
        throw e;
      }
      const r = await this.engine.apply(goal);
      this.resources.set(urn, { urn, id: r.id || null, state: {} });
      const resp = new sdk.resproto.RegisterResourceResponse();
      resp.setUrn(urn);
      resp.setId(r.id || "");
      resp.setObject(toStruct(sdk, r.outputs, r.secretOutputs));
      return resp;
    }

    /** The engine's default provider for a package, configured from `<pkg>:*` stack config. */
    private defaultProvider(pkg: string, version: string): Promise<string> {
      const key = `${pkg}@${version}`;
      let p = this.defaultProviders.get(key);
      if (!p) {
        p = (async () => {
          const name = version ? `default_${version.replace(/[.-]/g, "_")}` : "default";
          const type = `pulumi:providers:${pkg}`;
          const inputs: Props = {};
          for (const [k, v] of Object.entries(this.config)) {
            if (k.startsWith(`${pkg}:`)) inputs[k.substring(pkg.length + 1)] = v;
          }
          if (version) inputs.version = version;
          const urn = makeUrn(this.stack, this.project, undefined, type, name);
          const r = await this.engine.apply({
            urn,
            type,
            name,
            custom: true,
            inputs,
            secretInputs: [],
            options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [] },
            dependencies: [],
            propertyDependencies: {},
          });
          // A default provider a preview would create has no id yet: the SDK's unknown id.
          return `${urn}::${r.id || sdk.rpc.unknownValue}`;
        })();
        this.defaultProviders.set(key, p);
      }
      return p;
    }

    registerResourceOutputs(req: any, callback: (err: any, resp?: any) => void): void {
      try {
        const urn: string = req.getUrn();
        const { values, secretKeys } = deserializeStruct(sdk.rpc, req.getOutputs(), `outputs of ${urn}`);
        if (urn.split("::")[2] === "pulumi:pulumi:Stack") this.stackOutputs = { values, secretKeys };
        this.engine.registerOutputs(urn, values, secretKeys);
        callback(null, {});
      } catch (e) {
        callback(e);
      }
    }

    readResource(req: any, callback: (err: any) => void): void {
      callback(
        new NotImplementedError(
          `reading existing resources (${req.getType()}.get / StackReference) is not implemented by the local apply harness`,
        ),
      );
    }

    invoke(req: any, callback: (err: any, resp?: any) => void): void {
      if (req.getTok() === "pulumi:pulumi:getResource") return super.invoke(req, callback);
      callback(new NotImplementedError(`function ${req.getTok()} (an invoke) is not implemented by the local apply harness`));
    }

    call(req: any, callback: (err: any) => void): void {
      callback(new NotImplementedError(`method call ${req.getTok()} is not implemented by the local apply harness`));
    }
  };
}
