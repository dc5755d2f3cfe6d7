/**
 * command:local:Command, following pulumi-command: `create` runs on create; a change of
 * `triggers` replaces (unless `update` is set); any other change runs `update` (or `create`
 * when there is no `update`); `delete` runs on delete. PULUMI_COMMAND_STDOUT/STDERR carry the
 * previous output, when there is some, into update and delete (unless `addPreviousOutputInEnv`
 * is false). `logging` picks which streams are logged (shown with LOCAL_APPLY_SHOW_COMMAND_OUTPUT=1);
 * like the provider, a failed command's error carries both streams whatever it says.
 *
 * command:remote:Command has its full schema (so preview plans it like the provider would) but
 * refuses to run: there is no SSH target in this harness.
 */
import { spawn } from "child_process";
import type { OpContext, Props, ResourceHandler } from "../types";
import { deepEqual, diffInputs, isUnknown } from "../schema";
import type { Schema } from "../schema";

const schema: Schema = {
  create: {},
  update: {},
  delete: {},
  environment: { map: true },
  triggers: { forceNew: true, any: true },
  interpreter: {},
  dir: {},
  stdin: {},
  addPreviousOutputInEnv: { default: true },
  logging: {},
};

/** pulumi-command's `logging` values. */
const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"];

/** Which streams pulumi-command logs for a `logging` value (both when it is unset). */
export function loggedStreams(logging: string | undefined): { stdout: boolean; stderr: boolean } {
  return {
    stdout: logging === undefined || logging === "stdout" || logging === "stdoutAndStderr",
    stderr: logging === undefined || logging === "stderr" || logging === "stdoutAndStderr",
  };
}

function checkLogging(type: string, logging: unknown): void {
  if (logging !== undefined && !isUnknown(logging) && !LOGGING.includes(logging as string)) {
    throw new Error(`${type}: logging must be one of ${LOGGING.join(", ")}, got ${JSON.stringify(logging)}`);
  }
}

async function run(ctx: OpContext, inputs: Props, cmd: string, previous?: Props): Promise<{ stdout: string; stderr: string }> {
  const interpreter = (inputs.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...((inputs.environment as Record<string, string>) ?? {}) };
  if (previous && inputs.addPreviousOutputInEnv !== false) {
    // As the provider: only a non-empty previous output is passed on.
    if (previous.stdout) env.PULUMI_COMMAND_STDOUT = previous.stdout as string;
    if (previous.stderr) env.PULUMI_COMMAND_STDERR = previous.stderr as string;
  }
  const show = process.env.LOCAL_APPLY_SHOW_COMMAND_OUTPUT === "1";
  const logged = loggedStreams(inputs.logging as string | undefined);
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter[0], [...interpreter.slice(1), cmd], {
      cwd: (inputs.dir as string | undefined) || process.cwd(),
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let combined = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      combined += d.toString();
      if (show && logged.stdout) ctx.log(`  | ${d.toString().trimEnd()}`);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      combined += d.toString();
      if (show && logged.stderr) ctx.log(`  | ${d.toString().trimEnd()}`);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve({ stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") });
      else {
        const status = code !== null ? `exit status ${code}` : `signal: ${String(signal)}`;
        reject(new Error(`${status}: running ${JSON.stringify(cmd)}:\n${combined.trimEnd()}`));
      }
    });
    // A command that does not read its stdin may exit first: ignore EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end((inputs.stdin as string | undefined) ?? "");
  });
}

export const localCommand: ResourceHandler = {
  type: "command:local:Command",
  schema,
  validate(inputs) {
    const interp = inputs.interpreter;
    if (interp !== undefined && !isUnknown(interp) && (!Array.isArray(interp) || interp.length === 0)) {
      throw new Error("command:local:Command: interpreter must be a non-empty list");
    }
    checkLogging("command:local:Command", inputs.logging);
  },
  diff(olds, news) {
    const d = diffInputs(schema, olds, news);
    const triggersChanged = !deepEqual(olds.triggers ?? null, news.triggers ?? null);
    const replaces = triggersChanged && !news.update ? ["triggers"] : [];
    return { changed: d.changed, replaces };
  },
  async create(ctx, inputs) {
    const out = inputs.create ? await run(ctx, inputs, inputs.create as string) : { stdout: "", stderr: "" };
    return { id: `${ctx.name}${Math.random().toString(36).slice(2, 10)}`, outputs: { ...inputs, ...out } };
  },
  async update(ctx, _id, _olds, news, oldOutputs) {
    const cmd = (news.update as string | undefined) || (news.create as string | undefined);
    const out = cmd ? await run(ctx, news, cmd, oldOutputs) : { stdout: oldOutputs.stdout, stderr: oldOutputs.stderr };
    return { ...news, ...out };
  },
  async delete(ctx, _id, inputs, outputs) {
    if (inputs.delete) await run(ctx, inputs, inputs.delete as string, outputs);
  },
};

/**
 * pulumi-command 1.2.1's schema (provider/cmd/pulumi-resource-command/schema.json):
 * command:remote:Connection and ProxyConnection with their defaults (user root, port 22,
 * dialErrorLimit 10, perDialTimeout 15); `connection` is secret as a whole, and password,
 * privateKey and privateKeyPassword inside it. Only `triggers` replaces (replaceOnChanges);
 * every other change is an update (the provider implements Update).
 */
const proxyConnectionSchema: Schema = {
  host: {},
  port: { default: 22 },
  user: { default: "root" },
  password: { secret: true },
  privateKey: { secret: true },
  privateKeyPassword: { secret: true },
  agentSocketPath: {},
  dialErrorLimit: { default: 10 },
  perDialTimeout: { default: 15 },
  hostKey: {},
};

export const remoteCommandSchema: Schema = {
  connection: { secret: true, object: { ...proxyConnectionSchema, proxy: { object: proxyConnectionSchema } } },
  create: {},
  update: {},
  delete: {},
  environment: { map: true },
  triggers: { forceNew: true, any: true },
  stdin: {},
  addPreviousOutputInEnv: { default: true },
  logging: {},
};

function noSshTarget(what: string): Promise<never> {
  return Promise.reject(
    new Error(
      `command:remote:Command: cannot ${what}: no SSH target in this harness ` +
        `(it never connects to remote hosts; use preview for a stack with sshHost set, or a stack with an empty sshHost for up)`,
    ),
  );
}

export const remoteCommand: ResourceHandler = {
  type: "command:remote:Command",
  schema: remoteCommandSchema,
  validate(inputs) {
    const conn = inputs.connection as Props | undefined;
    if (conn === undefined || conn === null) throw new Error("command:remote:Command: missing required property 'connection'");
    if (!isUnknown(conn) && (conn.host === undefined || conn.host === "")) {
      throw new Error("command:remote:Command: missing required property 'connection.host'");
    }
    const proxy = isUnknown(conn) ? undefined : (conn.proxy as Props | undefined);
    if (proxy && !isUnknown(proxy) && (proxy.host === undefined || proxy.host === "")) {
      throw new Error("command:remote:Command: missing required property 'connection.proxy.host'");
    }
    checkLogging("command:remote:Command", inputs.logging);
  },
  create: () => noSshTarget("run its create command"),
  update: () => noSshTarget("run its update command"),
  delete: () => noSshTarget("run its delete command"),
};

/** The other remote resources are refused by name: they copy files over SSH. */
export const remoteCopyRefusal =
  "runs over SSH, which the local apply harness does not support (no SSH target in this harness)";
