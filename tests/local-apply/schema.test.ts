import { container } from "./providers/docker-container";
import { volume } from "./providers/docker-image-volume";
import { localCommand } from "./providers/command";
import { applyIgnoreChanges, checkInputs, diffInputs, NotImplementedError } from "./schema";

const base = {
  name: "r",
  image: "sha256:abc",
  ports: [{ internal: 5000, external: 5000 }],
  envs: ["A=1", "B=2"],
  memory: 256,
  healthcheck: { tests: ["CMD", "true"], interval: "5s" },
};

describe("checkInputs refuses what the harness does not implement", () => {
  it("names the type and a top-level property", () => {
    expect(() => checkInputs(container.type, container.schema, { ...base, gpus: "all" })).toThrow(NotImplementedError);
    expect(() => checkInputs(container.type, container.schema, { ...base, gpus: "all" })).toThrow(
      /docker:index\/container:Container: input property 'gpus' is not implemented/,
    );
  });
  it("names a nested property with its path", () => {
    expect(() =>
      checkInputs(container.type, container.schema, { ...base, volumes: [{ containerPath: "/d", selinuxRelabel: "z" }] }),
    ).toThrow(/'volumes\[0\]\.selinuxRelabel'/);
    expect(() => checkInputs(container.type, container.schema, { ...base, healthcheck: { tests: [], bogus: 1 } })).toThrow(
      /'healthcheck\.bogus'/,
    );
  });
  it("accepts the implemented ones", () => {
    expect(() => checkInputs(container.type, container.schema, base)).not.toThrow();
  });
});

describe("diffInputs decides update vs replace like the docker provider", () => {
  it("memory is updatable in place", () => {
    expect(diffInputs(container.schema, base, { ...base, memory: 512 })).toEqual({ changed: ["memory"], replaces: [] });
  });
  it("ports, name, image, readOnly, envs force a replacement", () => {
    for (const [k, v] of Object.entries({ ports: [{ internal: 5000, external: 5001 }], name: "x", image: "sha256:def", readOnly: true, envs: ["A=2"] })) {
      expect(diffInputs(container.schema, base, { ...base, [k]: v }).replaces).toEqual([k]);
    }
  });
  it("healthcheck changes are in-place (state-only) updates, as in the provider", () => {
    const d = diffInputs(container.schema, base, { ...base, healthcheck: { tests: ["CMD", "false"], interval: "5s" } });
    expect(d).toEqual({ changed: ["healthcheck"], replaces: [] });
  });
  it("defaults equal omitted values and sets ignore order", () => {
    expect(diffInputs(container.schema, base, { ...base, restart: "no", readOnly: false, envs: ["B=2", "A=1"] }).changed).toEqual([]);
    expect(diffInputs(container.schema, { ...base, ports: [{ internal: 5000, external: 5000, ip: "0.0.0.0", protocol: "tcp" }] }, base).changed).toEqual([]);
  });
  it("every volume property replaces", () => {
    expect(diffInputs(volume.schema, { name: "v" }, { name: "v", labels: [{ label: "a", value: "b" }] }).replaces).toEqual(["labels"]);
  });
  it("command: triggers replace without an update command, update in place with one", () => {
    const olds = { create: "echo a", triggers: ["1"] };
    expect(localCommand.diff!(olds, { ...olds, triggers: ["2"] }).replaces).toEqual(["triggers"]);
    expect(localCommand.diff!({ ...olds, update: "echo u" }, { ...olds, update: "echo u", triggers: ["2"] }).replaces).toEqual([]);
    expect(localCommand.diff!(olds, { ...olds, create: "echo b" })).toEqual({ changed: ["create"], replaces: [] });
  });
});

describe("applyIgnoreChanges", () => {
  it("keeps old values of ignored top-level and nested properties", () => {
    const olds = { a: 1, b: { c: 2, d: 3 } };
    const news = { a: 9, b: { c: 8, d: 7 } };
    expect(applyIgnoreChanges(["a"], olds, news)).toEqual({ a: 1, b: { c: 8, d: 7 } });
    expect(applyIgnoreChanges(["b.c"], olds, news)).toEqual({ a: 9, b: { c: 2, d: 7 } });
    expect(applyIgnoreChanges(["*"], olds, news)).toEqual(olds);
  });
});
