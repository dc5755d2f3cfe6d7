/** command:local:Command runs as pulumi-command 1.2.1 does: logging, previous output, failures. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { localCommand, loggedStreams } from "./providers/command";
import type { OpContext } from "./types";

function context(): { ctx: OpContext; lines: string[] } {
  const lines: string[] = [];
  const ctx: OpContext = { urn: "urn:x", type: localCommand.type, name: "c", log: (msg) => lines.push(msg), now: () => new Date() };
  return { ctx, lines };
}

const both = "echo out-line; echo err-line >&2";
const saved = process.env.LOCAL_APPLY_SHOW_COMMAND_OUTPUT;
beforeAll(() => {
  process.env.LOCAL_APPLY_SHOW_COMMAND_OUTPUT = "1";
});
afterAll(() => {
  if (saved === undefined) delete process.env.LOCAL_APPLY_SHOW_COMMAND_OUTPUT;
  else process.env.LOCAL_APPLY_SHOW_COMMAND_OUTPUT = saved;
});

describe("logging", () => {
  it("maps each value to the streams the provider logs; unset logs both", () => {
    expect(loggedStreams(undefined)).toEqual({ stdout: true, stderr: true });
    expect(loggedStreams("stdoutAndStderr")).toEqual({ stdout: true, stderr: true });
    expect(loggedStreams("stdout")).toEqual({ stdout: true, stderr: false });
    expect(loggedStreams("stderr")).toEqual({ stdout: false, stderr: true });
    expect(loggedStreams("none")).toEqual({ stdout: false, stderr: false });
  });

  it.each([
    [undefined, ["out-line", "err-line"]],
    ["stdout", ["out-line"]],
    ["stderr", ["err-line"]],
    ["none", []],
  ])("logging %s shows %j and still captures both streams as outputs", async (logging, shown) => {
    const { ctx, lines } = context();
    const r = await localCommand.create(ctx, { create: both, ...(logging ? { logging } : {}) });
    expect(lines.map((l) => l.replace(/^\s*\|\s*/, "")).sort()).toEqual([...shown].sort());
    expect(r.outputs).toEqual(expect.objectContaining({ stdout: "out-line", stderr: "err-line" }));
  });

  it("a failed command's error carries both streams, whatever logging says (as the provider's does)", async () => {
    const { ctx, lines } = context();
    await expect(localCommand.create(ctx, { create: `${both}; exit 3`, logging: "none" })).rejects.toThrow(/exit status 3: running .*:\nout-line\nerr-line/);
    expect(lines).toEqual([]);
  });

  it("refuses a value the provider does not know", () => {
    expect(() => localCommand.validate!({ create: "true", logging: "loud" })).toThrow(/command:local:Command: logging must be one of stdout, stderr, stdoutAndStderr, none/);
    expect(() => localCommand.validate!({ create: "true", logging: "none" })).not.toThrow();
  });
});

describe("previous output in the environment", () => {
  const show = 'printf "%s|%s|%s" "${PULUMI_COMMAND_STDOUT-unset}" "${PULUMI_COMMAND_STDERR-unset}" "$EXTRA"';

  it("carries a non-empty previous output into update and delete, and leaves empty ones unset", async () => {
    const { ctx } = context();
    const updated = await localCommand.update!(ctx, "id", {}, { update: show, environment: { EXTRA: "x" } }, { stdout: "old-out", stderr: "" }, []);
    expect(updated.stdout).toBe("old-out|unset|x");
    const record = `${show} > "$OUT"`;
    const out = path.join(os.tmpdir(), `local-apply-command-${process.pid}`);
    await localCommand.delete(ctx, "id", { delete: record, environment: { OUT: out, EXTRA: "y" } }, { stdout: "", stderr: "old-err" });
    expect(fs.readFileSync(out, "utf8")).toBe("unset|old-err|y");
    fs.rmSync(out);
  });

  it("passes none with addPreviousOutputInEnv false", async () => {
    const { ctx } = context();
    const updated = await localCommand.update!(ctx, "id", {}, { update: show, addPreviousOutputInEnv: false }, { stdout: "old-out", stderr: "old-err" }, []);
    expect(updated.stdout).toBe("unset|unset|");
  });
});
