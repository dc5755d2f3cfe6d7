/**
 * Runs the policy pack's policies on recorded resource inputs the way the policy runtime
 * (@pulumi/policy's server) calls them, without starting the runtime: resource policies get each
 * resource's inputs behind the runtime's own unknown-checking proxy, so reading an input that is
 * unknown in preview throws, which the runtime turns into an advisory "can't run during preview".
 */
import { spawn } from "child_process";
import * as path from "path";
import type {
    ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
} from "../../../policy/policies";
import type { PreviewStep } from "../../local-apply";
import { repoRoot, RegisteredResource } from "./program";

/* eslint-disable @typescript-eslint/no-explicit-any --
   recorded inputs are untyped documents; the tests read and mutate them by path. */

/** A resource as policies see it; `parent` is the parent's URN. */
export interface PolicyInput {
    type: string;
    urn: string;
    name: string;
    props: Record<string, any>;
    protect: boolean;
    parent?: string;
}

export interface PolicyOutcome {
    /** Violations: policy name, the URN reported and the message. */
    violations: { policy: string; urn?: string; message: string }[];
    /** Policies that could not run on a resource because an input was unknown (the runtime's advisory). */
    undecided: { policy: string; urn: string }[];
}

// The runtime's own proxy module, from the pack's dependencies; @pulumi/policy's typings leave it out.
interface RuntimeProxy {
    unknownCheckingProxy<T extends object>(value: T): T;
    UnknownValueError: new (...args: never[]) => Error;
    unknownStringValue: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a path computed at run time
const runtimeProxy = require(path.join(repoRoot, "policy/node_modules/@pulumi/policy/proxy")) as RuntimeProxy;

/** What the local apply harness prints for a value not known in preview. */
export const harnessUnknown = "[unknown]";

/** Replaces the harness's unknown marker with the sentinel the engine sends the policy runtime. */
function withRuntimeUnknowns(value: unknown): unknown {
    if (value === harnessUnknown) return runtimeProxy.unknownStringValue;
    if (Array.isArray(value)) return value.map(withRuntimeUnknowns);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withRuntimeUnknowns(v)]));
    return value;
}

/** Inputs recorded by the unit tests' mock run of the program (tests/unit/support/program.ts). */
export function fromMockRun(resources: RegisteredResource[]): PolicyInput[] {
    return resources.map((r) => ({
        type: r.type, urn: r.urn, name: r.name, props: r.inputs, protect: r.protect, parent: r.parentUrn || undefined,
    }));
}

/** Inputs of the resources a local apply harness preview plans (`preview(stack).plan.steps`). */
export function fromPlanSteps(steps: PreviewStep[]): PolicyInput[] {
    return steps.map((s) => ({
        type: s.type, urn: s.urn, name: s.name, props: s.inputs, protect: s.options.protect ?? false, parent: s.parent,
    }));
}

interface StackResourceArg {
    type: string;
    urn: string;
    name: string;
    props: Record<string, unknown>;
    parent?: StackResourceArg;
}

/** Runs every policy on every resource (and the stack policies on all of them), collecting outcomes. */
export async function runPolicies(
    policies: (ResourceValidationPolicy | StackValidationPolicy)[],
    inputs: PolicyInput[],
): Promise<PolicyOutcome> {
    const outcome: PolicyOutcome = { violations: [], undecided: [] };
    for (const policy of policies) {
        if ("validateStack" in policy) {
            const byUrn = new Map<string, StackResourceArg>(inputs.map((r) => [r.urn, { type: r.type, urn: r.urn, name: r.name, props: r.props }]));
            for (const r of inputs) byUrn.get(r.urn)!.parent = r.parent === undefined ? undefined : byUrn.get(r.parent);
            const args = { resources: [...byUrn.values()] } as unknown as StackValidationArgs;
            await policy.validateStack(args, (message, urn) => outcome.violations.push({ policy: policy.name, urn, message }));
            continue;
        }
        const validations = [policy.validateResource ?? []].flat();
        for (const r of inputs) {
            const args = {
                type: r.type, urn: r.urn, name: r.name,
                props: runtimeProxy.unknownCheckingProxy(withRuntimeUnknowns(r.props) as object),
                opts: { protect: r.protect, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], parent: r.parent },
            } as unknown as ResourceValidationArgs;
            for (const validate of validations) {
                try {
                    await validate(args, (message) => outcome.violations.push({ policy: policy.name, urn: r.urn, message }));
                } catch (err) {
                    if (!(err instanceof runtimeProxy.UnknownValueError)) throw err;
                    outcome.undecided.push({ policy: policy.name, urn: r.urn });
                }
            }
        }
    }
    return outcome;
}

// The policy runtime, as Pulumi runs a pack: the pack's own @pulumi/pulumi starts it with
// cmd/run-policy-pack (type-checking the pack with ts-node), and the engine talks gRPC to it.
const packModules = path.join(repoRoot, "policy/node_modules");
type AnalyzerPb = typeof import("../../../policy/node_modules/@pulumi/pulumi/proto/analyzer_pb");
type AnalyzerGrpc = typeof import("../../../policy/node_modules/@pulumi/pulumi/proto/analyzer_grpc_pb");
type StructPb = typeof import("../../../policy/node_modules/@types/google-protobuf/google/protobuf/struct_pb");
type EmptyPb = typeof import("../../../policy/node_modules/@types/google-protobuf/google/protobuf/empty_pb");
type Grpc = typeof import("../../../policy/node_modules/@grpc/grpc-js");
/* eslint-disable @typescript-eslint/no-require-imports -- the pack's own copies, by path, so the client speaks its protocol version */
const analyzerPb = require(path.join(packModules, "@pulumi/pulumi/proto/analyzer_pb")) as AnalyzerPb;
const analyzerGrpc = require(path.join(packModules, "@pulumi/pulumi/proto/analyzer_grpc_pb")) as AnalyzerGrpc;
const protoDir = path.join(packModules, "@pulumi/pulumi/proto");
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [protoDir] })) as Grpc;
const structPb = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [protoDir] })) as StructPb;
const emptyPb = require(require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [protoDir] })) as EmptyPb;
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RuntimeDiagnostic {
    policy: string;
    enforcementLevel: string;
    urn: string;
    message: string;
}

export interface PolicyRuntime {
    /** Each policy's name and enforcement level, as the pack tells the engine. */
    policies(): Promise<{ name: string; enforcementLevel: string }[]>;
    /** What the engine asks before it creates or updates a resource. */
    analyze(resource: PolicyInput): Promise<RuntimeDiagnostic[]>;
    /** What the engine asks once the whole stack is known. */
    analyzeStack(resources: PolicyInput[]): Promise<RuntimeDiagnostic[]>;
    stop(): void;
}

const enforcementLevels: Record<number, string> = { 0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate" };

function resourceMessage<T extends InstanceType<AnalyzerPb["AnalyzeRequest"]> | InstanceType<AnalyzerPb["AnalyzerResource"]>>(message: T, r: PolicyInput): T {
    message.setType(r.type);
    message.setUrn(r.urn);
    message.setName(r.name);
    message.setProperties(structPb.Struct.fromJavaScript(withRuntimeUnknowns(r.props) as Parameters<StructPb["Struct"]["fromJavaScript"]>[0]));
    const options = new analyzerPb.AnalyzerResourceOptions();
    options.setProtect(r.protect);
    if (r.parent !== undefined) options.setParent(r.parent);
    message.setOptions(options);
    return message;
}

/** Starts the pack (policy/) for a stack name, as `pulumi preview --policy-pack policy` would. */
export function startPolicyRuntime(stack: string): Promise<PolicyRuntime> {
    const child = spawn(process.execPath, [path.join(packModules, "@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:0", "."], {
        cwd: path.join(repoRoot, "policy"),
        // What the engine sets for a Node.js pack; getStack() reads PULUMI_NODEJS_STACK.
        env: { ...process.env, PULUMI_NODEJS_STACK: stack, PULUMI_NODEJS_PROJECT: "company-infra", PULUMI_NODEJS_DRY_RUN: "true" },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    return new Promise((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`the policy pack exited (${code}) before serving:\n${stderr}`)));
        // The runtime prints its gRPC port, then serves.
        child.stdout.once("data", (d: Buffer) => {
            const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${d.toString().trim()}`, grpc.credentials.createInsecure());
            const unary = <Res>(send: (callback: (err: Error | null, res: Res) => void) => unknown) =>
                new Promise<Res>((done, fail) => { send((err, res) => (err ? fail(err) : done(res))); });
            const diagnostics = (res: InstanceType<AnalyzerPb["AnalyzeResponse"]>): RuntimeDiagnostic[] => res.getDiagnosticsList().map((diag) => ({
                policy: diag.getPolicyname(), enforcementLevel: enforcementLevels[diag.getEnforcementlevel()], urn: diag.getUrn(), message: diag.getMessage(),
            }));
            resolve({
                policies: async () => (await unary<InstanceType<AnalyzerPb["AnalyzerInfo"]>>((cb) => client.getAnalyzerInfo(new emptyPb.Empty(), cb))).getPoliciesList()
                    .map((p) => ({ name: p.getName(), enforcementLevel: enforcementLevels[p.getEnforcementlevel()] })),
                analyze: async (r) => diagnostics(await unary((cb) => client.analyze(resourceMessage(new analyzerPb.AnalyzeRequest(), r), cb))),
                analyzeStack: async (resources) => {
                    const req = new analyzerPb.AnalyzeStackRequest();
                    req.setResourcesList(resources.map((r) => {
                        const message = resourceMessage(new analyzerPb.AnalyzerResource(), r);
                        if (r.parent !== undefined) message.setParent(r.parent);
                        return message;
                    }));
                    return diagnostics(await unary((cb) => client.analyzeStack(req, cb)));
                },
                stop: () => { client.close(); child.removeAllListeners("exit"); child.kill(); },
            });
        });
    });
}
