import * as path from "path";
import { configEnv, loadStackConfig, parseConfigFlag } from "./config";

const dir = path.join(__dirname, "fixtures", "nodocker");

describe("stack config", () => {
  it("merges project defaults < Pulumi.<stack>.yaml < overrides", () => {
    const c = loadStackConfig(dir, "test", { "local-apply-nodocker:length": 9 });
    expect(c.values["local-apply-nodocker:length"]).toBe(9); // override
    expect(c.values["local-apply-nodocker:marker"]).toBe("from-stack-file"); // stack file
    expect(c.values["local-apply-nodocker:names"]).toEqual(["a"]); // project default
  });
  it("reads flag values as YAML and allows keys without the project prefix", () => {
    expect(parseConfigFlag("p", "registryAllowedCidrs=[10.0.0.0/24]")).toEqual(["p:registryAllowedCidrs", ["10.0.0.0/24"]]);
    expect(parseConfigFlag("p", "p:port=5001")).toEqual(["p:port", 5001]);
    expect(parseConfigFlag("p", "docker:host=unix:///x.sock")).toEqual(["docker:host", "unix:///x.sock"]);
    expect(parseConfigFlag("p", "flag=true")).toEqual(["p:flag", true]);
    expect(parseConfigFlag("p", "empty=")).toEqual(["p:empty", ""]);
  });
  it("refuses values of the wrong declared type", () => {
    expect(() => loadStackConfig(dir, "test", { length: "many" })).toThrow(/local-apply-nodocker:length: expected an integer/);
  });
  it("passes config as Pulumi does: JSON strings, secret keys listed", () => {
    const c = loadStackConfig(dir, "test", {}, { token: "s3cret" });
    const env = configEnv(c);
    const cfg = JSON.parse(env.PULUMI_CONFIG);
    expect(cfg["local-apply-nodocker:names"]).toBe('["a"]');
    expect(cfg["local-apply-nodocker:length"]).toBe("16");
    expect(cfg["local-apply-nodocker:token"]).toBe("s3cret");
    expect(JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS)).toEqual(["local-apply-nodocker:token"]);
  });
});
