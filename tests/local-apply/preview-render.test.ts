/** The preview's printed forms: JSON contract, masking of secrets and unknowns, the text lines. */
import type { PlannedStep } from "./engine";
import { planSummary, renderPlanText, toPreviewPlan } from "./preview";
import { addSecret } from "./redact";
import { UNKNOWN } from "./schema";

const options = { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [] };
const step = (op: PlannedStep["op"], type: string, name: string, extra: Partial<PlannedStep> = {}): PlannedStep => ({
  op,
  urn: `urn:pulumi:s::p::${type}::${name}`,
  type,
  name,
  custom: true,
  inputs: {},
  secretInputs: [],
  options,
  dependencies: [],
  ...extra,
});

const steps: PlannedStep[] = [
  step("create", "pulumi:providers:random", "default_4_21_2"),
  step("same", "pulumi:providers:docker", "default"),
  step("create", "command:remote:Command", "fw", {
    inputs: { connection: { host: "h", privateKey: "KEY-MATERIAL-1234" }, create: "echo hi", triggers: [UNKNOWN, "x"] },
    secretInputs: ["connection"],
    provider: `urn:pulumi:s::p::pulumi:providers:command::default::${UNKNOWN}`,
  }),
  step("update", "command:local:Command", "c", { inputs: { environment: { A: UNKNOWN } }, changed: ["environment"] }),
  step("replace", "docker:index/container:Container", "ctr", {
    inputs: { ports: [{ internal: 5000, external: 5001 }], envs: ["TOKEN=leaked-derived-secret"] },
    changed: ["ports"],
    replaceReasons: ["ports"],
    options: { ...options, deleteBeforeReplace: true },
  }),
  step("delete", "random:index/randomString:RandomString", "old", { note: "no longer declared" }),
  step("same", "pulumi:pulumi:Stack", "p-s", { custom: false }),
];

describe("toPreviewPlan (the --json contract)", () => {
  it("masks secret inputs and unknown values, and lists which top-level inputs were unknown", () => {
    addSecret("leaked-derived-secret");
    const plan = toPreviewPlan("s", steps, false);
    expect(plan.stack).toBe("s");
    const fw = plan.steps[2];
    expect(fw).toMatchObject({
      op: "create",
      type: "command:remote:Command",
      name: "fw",
      custom: true,
      provider: "urn:pulumi:s::p::pulumi:providers:command::default::[unknown]",
      inputs: { connection: "[secret]", create: "echo hi", triggers: ["[unknown]", "x"] },
      secretInputs: ["connection"],
      unknownInputs: ["triggers"],
      options,
      dependencies: [],
    });
    expect(plan.steps[3]).toMatchObject({ op: "update", inputs: { environment: { A: "[unknown]" } }, unknownInputs: ["environment"], changed: ["environment"] });
    expect(plan.steps[4]).toMatchObject({ op: "replace", changed: ["ports"], replaceReasons: ["ports"] });
    // A secret value that turns up inside a non-secret input is masked too.
    expect(plan.steps[4].inputs.envs).toEqual(["TOKEN=[secret]"]);
    expect(plan.steps[5]).toMatchObject({ op: "delete", note: "no longer declared" });
    const text = JSON.stringify(plan);
    expect(text).not.toContain("KEY-MATERIAL-1234");
    expect(text).not.toContain("leaked-derived-secret");
    expect(text).not.toContain(UNKNOWN);
  });

  it("--show-secrets reveals secret values (unknowns still read [unknown])", () => {
    const plan = toPreviewPlan("s", steps, true);
    expect(plan.steps[2].inputs.connection).toEqual({ host: "h", privateKey: "KEY-MATERIAL-1234" });
    expect(plan.steps[4].inputs.envs).toEqual(["TOKEN=leaked-derived-secret"]);
    expect(plan.steps[2].inputs.triggers).toEqual(["[unknown]", "x"]);
  });

  it("the summary counts every op but leaves the engine's default providers out, as Pulumi's does", () => {
    expect(planSummary(steps)).toEqual({ create: 1, update: 1, replace: 1, delete: 1, same: 1 });
    expect(toPreviewPlan("s", steps, false).summary).toEqual(planSummary(steps));
  });
});

describe("renderPlanText", () => {
  it("prints one line per resource like pulumi preview, then the counts", () => {
    expect(renderPlanText(steps).split("\n")).toEqual([
      "+ create command:remote:Command fw",
      "~ update command:local:Command c (changed: environment) [unknown until applied: environment]",
      "+- replace docker:index/container:Container ctr (replace because: ports) [delete-before-replace]",
      "- delete random:index/randomString:RandomString old (no longer declared)",
      "= same pulumi:pulumi:Stack p-s",
      "Resources: 1 to create, 1 to update, 1 to replace, 1 to delete, 1 unchanged",
    ]);
  });
});
