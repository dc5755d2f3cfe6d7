/**
 * What the harness takes from the project directory, as `pulumi` would: the project's own
 * @pulumi/pulumi (the copy its program and provider SDKs load, so the mock monitor is set on
 * the runtime the program really uses), and its own tsconfig.json for compiling the program.
 */
import * as fs from "fs";
import * as path from "path";

// The SDK's runtime internals and Node's module hooks are untyped: loaded by path, used as any.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */

/** The parts of one @pulumi/pulumi copy the harness drives. */
export interface PulumiSdk {
  /** The package directory. */
  dir: string;
  version: string;
  /** True when it is not the harness's own copy. */
  projectLocal: boolean;
  pulumi: any;
  settings: any;
  state: any;
  rpc: any;
  mocks: any;
  resproto: any;
  structproto: any;
}

const ownSdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/** The @pulumi/pulumi the project's program resolves (Node's lookup from projectDir), else the harness's own. */
export function pulumiSdkDir(projectDir: string): string {
  try {
    return path.dirname(fs.realpathSync(require.resolve("@pulumi/pulumi/package.json", { paths: [projectDir] })));
  } catch {
    return ownSdkDir;
  }
}

const loaded = new Map<string, PulumiSdk>();

export function loadPulumiSdk(projectDir: string): PulumiSdk {
  const dir = pulumiSdkDir(projectDir);
  let sdk = loaded.get(dir);
  if (!sdk) {
    const req = (p: string) => require(path.join(dir, p));
    sdk = {
      dir,
      version: (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version,
      projectLocal: dir !== fs.realpathSync(ownSdkDir),
      pulumi: req("index.js"),
      settings: req("runtime/settings.js"),
      state: req("runtime/state.js"),
      rpc: req("runtime/rpc.js"),
      mocks: req("runtime/mocks.js"),
      resproto: req("proto/resource_pb.js"),
      // The Struct class of the protobuf copy that SDK uses.
      structproto: require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [dir] })),
    };
    loaded.set(dir, sdk);
  }
  return sdk;
}

const harnessTsconfig = path.resolve(__dirname, "../../tsconfig.json");

/**
 * Compiles the project's TypeScript with the project's own tsconfig.json, when it has one other
 * than the harness's (Pulumi's language host does the same). Files outside the project, and its
 * node_modules, stay with the compiler the harness runs under. Returns the tsconfig used.
 */
export function useProjectTsconfig(projectDir: string): string | undefined {
  const tsconfig = path.join(projectDir, "tsconfig.json");
  if (!fs.existsSync(tsconfig) || path.resolve(tsconfig) === harnessTsconfig) return undefined;
  const tsnode = require("ts-node") as typeof import("ts-node");
  const service = tsnode.create({
    project: tsconfig,
    transpileOnly: true,
    scope: true,
    scopeDir: projectDir,
  });
  const outer = require.extensions[".ts"];
  require.extensions[".ts"] = function (m: any, filename: string) {
    if (service.ignored(filename)) return outer!(m, filename);
    // Compiled here and handed straight to the module: no other hook compiles it a second time.
    m._compile(service.compile(fs.readFileSync(filename, "utf8"), filename), filename);
  };
  return tsconfig;
}
