/**
 * `preview` of the real program on the dev stack, on the real Docker engine: it plans what `up`
 * would do and touches nothing (no state file, no container, no volume; after an up, the same
 * container and the same state file bytes).
 */
import * as fs from "fs";
import * as path from "path";
import { down, preview, REPO_ROOT, runCli, up } from "../local-apply";
import type { PreviewPlan } from "../local-apply";
import { run, runOk } from "./support/shell";

const stack = "dev";
// Another port only when 5000 is taken on a developer's machine, as the registry suite does.
const port = Number(process.env.E2E_REGISTRY_PORT ?? 5000);
const otherPort = port + 1;
const config: Record<string, unknown> = port === 5000 ? {} : { port };
const stateFile = path.join(REPO_ROOT, ".local-state", `${stack}.json`);
const lockFile = stateFile.replace(/\.json$/, ".lock");
const registryContainer = "registry-dev";

/** Containers and volumes of the dev stack (all named after registry-dev). */
function devObjects(): string[] {
    const containers = runOk(`docker ps -a --filter name=^${registryContainer} --format '{{.Names}}'`);
    const volumes = runOk(`docker volume ls --filter name=^${registryContainer} --format '{{.Name}}'`);
    return [...containers.split("\n"), ...volumes.split("\n")].filter(Boolean).sort();
}

const customSteps = (plan: PreviewPlan) => plan.steps.filter((s) => s.custom && !s.name.startsWith("default"));

beforeAll(async () => {
    // An empty dev stack: whatever an earlier run left is taken down, and its emptied state file removed.
    if (fs.existsSync(stateFile)) {
        await down(stack);
        const left = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { resources: unknown[] };
        if (left.resources.length === 0) fs.rmSync(stateFile);
    }
    expect(devObjects()).toEqual([]);
});

afterAll(async () => {
    await down(stack);
});

describe("preview of the dev stack", () => {
    it("on an empty stack plans every resource as a create, and creates nothing", async () => {
        const r = await preview(stack, config);
        expect(r.code).toBe(0);
        const plan = r.plan!;
        expect(new Set(plan.steps.map((s) => s.op))).toEqual(new Set(["create"]));
        expect(plan.summary).toMatchObject({ update: 0, replace: 0, delete: 0, same: 0 });
        expect(plan.summary.create).toBeGreaterThanOrEqual(20);
        // The front publishes the registry port.
        const container = plan.steps.find((s) => s.type === "docker:index/container:Container" && s.inputs.name === `${registryContainer}-front`);
        expect(container?.inputs.ports).toEqual([{ internal: 5000, external: port, ip: "0.0.0.0", protocol: "tcp" }]);
        // Its image and its files' digest come from resources that do not exist yet.
        expect(container?.unknownInputs).toEqual(expect.arrayContaining(["image", "labels"]));
        expect(fs.existsSync(stateFile)).toBe(false);
        expect(fs.existsSync(lockFile)).toBe(false);
        expect(devObjects()).toEqual([]);
    });

    it("fails on bad config, naming the key and the fix, and creates nothing", async () => {
        const badPort = await preview(stack, { ...config, port: 70000 });
        expect(badPort.code).not.toBe(0);
        expect(badPort.plan).toBeUndefined();
        expect(badPort.stderr).toMatch(/private-registry:port: 70000 is outside 1-65535\. Fix: pulumi config set private-registry:port \d+/);

        const noUsers = await preview(stack, { ...config, users: "[]" });
        expect(noUsers.code).not.toBe(0);
        expect(noUsers.stderr).toMatch(/private-registry:users: at least one user is needed[^\n]*\. Fix: /);

        expect(fs.existsSync(stateFile)).toBe(false);
        expect(devObjects()).toEqual([]);
    });

    it("after up, another port replaces only the front container (because of ports) and changes nothing", async () => {
        await up(stack, config);
        const containerId = runOk(`docker inspect -f '{{.Id}}' ${registryContainer}-front`).trim();
        const stateBytes = fs.readFileSync(stateFile);
        const objects = devObjects();

        const r = await preview(stack, { ...config, port: otherPort });
        expect(r.code).toBe(0);
        const plan = r.plan!;
        const changed = plan.steps.filter((s) => s.op !== "same");
        expect(changed.map((s) => [s.op, s.type, s.name, s.replaceReasons])).toEqual([
            ["replace", "docker:index/container:Container", "registry-front-container", ["ports"]],
        ]);
        expect(changed[0].inputs.ports).toEqual([{ internal: 5000, external: otherPort, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(plan.summary).toEqual({ create: 0, update: 0, replace: 1, delete: 0, same: plan.steps.filter((s) => !s.name.startsWith("default")).length - 1 });
        expect(customSteps(plan).length).toBeGreaterThanOrEqual(15);

        // The human form says the same, one line per resource.
        const text = await runCli(["preview", "--stack", stack, "--config", `port=${otherPort}`]);
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/^\+- replace docker:index\/container:Container registry-front-container \(replace because: ports\)( \[delete-before-replace\])?$/m);
        expect(text.stdout.split("\n").filter((l) => /^(\+|~|-|\+-) /.test(l))).toHaveLength(1);
        expect(text.stdout).toMatch(/^Resources: 0 to create, 0 to update, 1 to replace, 0 to delete, \d+ unchanged$/m);

        expect(runOk(`docker inspect -f '{{.Id}}' ${registryContainer}-front`).trim()).toBe(containerId);
        expect(fs.readFileSync(stateFile).equals(stateBytes)).toBe(true);
        expect(fs.existsSync(lockFile)).toBe(false);
        expect(devObjects()).toEqual(objects);
        // Nothing listens on the other port.
        expect(run(`docker ps --filter publish=${otherPort} --format '{{.Names}}'`).stdout.trim()).toBe("");
    });
});
