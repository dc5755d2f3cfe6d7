import { container } from "./providers/docker-container";
import { volume } from "./providers/docker-image-volume";
import { localCommand, remoteCommand } from "./providers/command";
import { checkDockerHost, dockerClientFor } from "./providers/pulumi-providers";
import { applyIgnoreChanges, checkInputs, diffInputs, NotImplementedError, UNKNOWN } from "./schema";

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

describe("command:remote:Command follows pulumi-command's schema", () => {
  const conn = { host: "h.example", user: "deploy", privateKey: "k" };
  const olds = { connection: conn, create: "echo a", triggers: ["1"] };
  it("knows the connection's properties, the proxy's, and refuses others", () => {
    expect(() =>
      checkInputs(remoteCommand.type, remoteCommand.schema, {
        ...olds,
        connection: { ...conn, port: 2222, password: "p", privateKeyPassword: "q", agentSocketPath: "/s", dialErrorLimit: 3, perDialTimeout: 5, hostKey: "ssh-ed25519 AAAA", proxy: { host: "bastion", user: "jump" } },
        environment: { A: "1" },
        stdin: "x",
        logging: "none",
        addPreviousOutputInEnv: false,
        update: "echo u",
        delete: "echo d",
      }),
    ).not.toThrow();
    expect(() => checkInputs(remoteCommand.type, remoteCommand.schema, { ...olds, connection: { ...conn, timeout: 5 } })).toThrow(/'connection\.timeout' is not implemented/);
    expect(() => checkInputs(remoteCommand.type, remoteCommand.schema, { ...olds, interpreter: ["/bin/sh"] })).toThrow(/'interpreter' is not implemented/);
  });
  it("the connection is secret as a whole", () => {
    expect(remoteCommand.schema.connection.secret).toBe(true);
  });
  it("the provider's defaults equal leaving them out; only triggers replace, the rest updates", () => {
    expect(diffInputs(remoteCommand.schema, olds, { ...olds, connection: { ...conn, port: 22, dialErrorLimit: 10, perDialTimeout: 15 } }).changed).toEqual([]);
    expect(diffInputs(remoteCommand.schema, olds, { ...olds, triggers: ["2"] })).toEqual({ changed: ["triggers"], replaces: ["triggers"] });
    expect(diffInputs(remoteCommand.schema, olds, { ...olds, connection: { ...conn, host: "other" }, create: "echo b" })).toEqual({ changed: ["connection", "create"], replaces: [] });
  });
  it("requires connection.host (unless unknown) and a known logging value", () => {
    expect(() => remoteCommand.validate!({ create: "x" })).toThrow(/missing required property 'connection'/);
    expect(() => remoteCommand.validate!({ connection: { user: "u" } })).toThrow(/'connection\.host'/);
    expect(() => remoteCommand.validate!({ connection: UNKNOWN })).not.toThrow();
    expect(() => remoteCommand.validate!({ connection: conn, logging: "loud" })).toThrow(/logging must be one of/);
  });
  it("refuses to run: there is no SSH target in this harness", async () => {
    await expect(remoteCommand.create({} as never, olds)).rejects.toThrow(/no SSH target in this harness/);
    await expect(remoteCommand.delete({} as never, "id", olds, {})).rejects.toThrow(/no SSH target in this harness/);
  });
});

describe("docker provider host", () => {
  it("a preview accepts any host the Docker client parses, ssh:// included; nonsense is refused", () => {
    for (const h of ["unix:///var/run/docker.sock", "ssh://deploy@registry.example.com", "tcp://10.0.0.1:2376", UNKNOWN, undefined]) expect(() => checkDockerHost(h)).not.toThrow();
    expect(() => checkDockerHost("registry.example.com")).toThrow(/unable to parse docker host/);
  });
  it("up can only drive a unix socket", () => {
    expect(() => dockerClientFor("ssh://deploy@registry.example.com")).toThrow(/is an SSH host/);
  });
});

describe("unknown values (a preview's) in checks and diffs", () => {
  it("are not checked until known, and count as a change", () => {
    expect(() => checkInputs(container.type, container.schema, { ...base, uploads: UNKNOWN, volumes: [UNKNOWN] })).not.toThrow();
    expect(() => container.validate!({ ...base, uploads: [{ file: "/f", content: UNKNOWN }, UNKNOWN] })).not.toThrow();
    expect(diffInputs(container.schema, base, { ...base, memory: UNKNOWN })).toEqual({ changed: ["memory"], replaces: [] });
    expect(diffInputs(container.schema, base, { ...base, envs: ["A=1", UNKNOWN] })).toEqual({ changed: ["envs"], replaces: ["envs"] });
  });
});
