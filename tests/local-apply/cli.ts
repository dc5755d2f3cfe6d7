/**
 * Local apply harness CLI: runs the real Pulumi program with a stack's config through the mock
 * runtime and really creates each declared resource (or, with preview, only plans them).
 *
 *   npm run local -- up      [--stack dev] [--config key=value ...] [--secret key=value ...]
 *   npm run local -- preview [--stack dev] [--config key=value ...] [--secret key=value ...] [--json] [--show-secrets]
 *   npm run local -- down    [--stack dev]
 *   npm run local -- output  [--stack dev] [--json] [--show-secrets] [NAME]
 *
 * Options: --project-dir DIR (default: the repo root), --program FILE (default index.ts). The
 * program runs on the project's own @pulumi/pulumi and is compiled with its own tsconfig.json.
 * Environment: LOCAL_APPLY_NOW (+25d, ISO time) shifts "now" for certificate renewal;
 * LOCAL_APPLY_SHOW_COMMAND_OUTPUT=1 echoes command:local:Command output.
 */
import * as path from "path";
import { parseConfigFlag, readProject } from "./config";
import { redact } from "./redact";
import { down, preview, printOutputs, readOutputs, up } from "./run";

interface Args {
  cmd: string;
  stack: string;
  projectDir: string;
  program?: string;
  config: Record<string, unknown>;
  secret: Record<string, unknown>;
  json: boolean;
  showSecrets: boolean;
  name?: string;
}

const USAGE = "usage: local (up|preview|down|output) [--stack NAME] [--config k=v]... [--secret k=v]... [--json] [--show-secrets] [--project-dir DIR] [--program FILE]";

export function parseArgs(argv: string[]): Args {
  const args: Args = {
    cmd: "",
    stack: process.env.PULUMI_STACK || "dev",
    projectDir: path.resolve(__dirname, "../.."),
    config: {},
    secret: {},
    json: false,
    showSecrets: false,
  };
  const rest: string[] = [];
  const configFlags: string[] = [];
  const secretFlags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const eq = a.indexOf("=");
      if (a.startsWith("--") && eq > 0 && !["--config", "--secret", "-c"].includes(a.substring(0, eq))) return a.substring(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === "--stack" || a === "-s" || a.startsWith("--stack=")) args.stack = a.startsWith("--stack=") ? a.substring(8) : val();
    else if (a === "--config" || a === "-c") configFlags.push(val());
    else if (a.startsWith("--config=")) configFlags.push(a.substring(9));
    else if (a === "--secret") secretFlags.push(val());
    else if (a.startsWith("--secret=")) secretFlags.push(a.substring(9));
    else if (a === "--project-dir" || a.startsWith("--project-dir=")) args.projectDir = path.resolve(a.includes("=") ? a.split("=")[1] : val());
    else if (a === "--program" || a.startsWith("--program=")) args.program = a.includes("=") ? a.split("=")[1] : val();
    else if (a === "--json" || a === "-j") args.json = true;
    else if (a === "--show-secrets") args.showSecrets = true;
    else if (a === "--yes" || a === "-y" || a === "--skip-preview") continue;
    else if (a === "-h" || a === "--help") {
      args.cmd = "help";
    } else if (a.startsWith("-")) throw new Error(`unknown flag ${a}\n${USAGE}`);
    else rest.push(a);
  }
  if (!args.cmd) args.cmd = rest.shift() ?? "";
  args.name = rest.shift();
  const project = readProject(args.projectDir).name;
  for (const f of configFlags) {
    const [k, v] = parseConfigFlag(project, f);
    args.config[k] = v;
  }
  for (const f of secretFlags) {
    const [k, v] = parseConfigFlag(project, f);
    args.secret[k] = v;
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const opts = { projectDir: args.projectDir, stack: args.stack, program: args.program, config: args.config, secretConfig: args.secret };
  switch (args.cmd) {
    case "up":
      return up(opts);
    case "preview":
      return preview({ ...opts, json: args.json, showSecrets: args.showSecrets });
    case "down":
    case "destroy":
      return down(opts);
    case "output":
      printOutputs(readOutputs(args.projectDir, args.stack), args.json, args.showSecrets, args.name);
      return 0;
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      // Docker sockets and the Pulumi runtime keep handles open; a run is over when main returns.
      process.exit(code);
    },
    (err) => {
      process.stderr.write(redact(`error: ${err instanceof Error ? err.message : String(err)}`) + "\n");
      process.exit(1);
    },
  );
}
