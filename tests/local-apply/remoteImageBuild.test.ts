/**
 * RemoteImage's `build` block without Docker: the schema's diff and refusals, the context's
 * .dockerignore filtering (down to the tar that would go to the daemon), the /build query.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tarFs from "tar-fs";
import { checkInputs, diffInputs, NotImplementedError } from "./schema";
import {
  buildEventError,
  buildQuery,
  contextFilter,
  dockerfileInContext,
  packContext,
  remoteImage,
  resolveBuildPaths,
} from "./providers/docker-image-volume";

const TYPE = remoteImage.type;
const base = {
  name: "token-service:abc",
  keepLocally: true,
  build: { context: "/src/ts", buildArgs: { NODE_IMAGE: "node:22-alpine" } },
  triggers: { sourceSha256: "abc" },
};

describe("RemoteImage build schema", () => {
  const diff = (news: Record<string, unknown>) => diffInputs(remoteImage.schema, base, news);

  it("a new trigger replaces", () => {
    expect(diff({ ...base, triggers: { sourceSha256: "def" } })).toEqual({ changed: ["triggers"], replaces: ["triggers"] });
  });

  it("any change inside build replaces, ForceNew in the provider or not (a set element rehashes)", () => {
    for (const build of [
      { ...base.build, buildArgs: { NODE_IMAGE: "node:24-alpine" } },
      { ...base.build, label: { a: "b" } },
      { ...base.build, tags: ["extra:1"] },
      { ...base.build, remove: false },
    ]) {
      expect(diff({ ...base, build })).toEqual({ changed: ["build"], replaces: ["build"] });
    }
  });

  it("defaults compare equal to leaving them out (dockerfile Dockerfile, remove true, useLegacyBuilder false)", () => {
    const build = { ...base.build, dockerfile: "Dockerfile", remove: true, useLegacyBuilder: false };
    expect(diff({ ...base, build })).toEqual({ changed: [], replaces: [] });
  });

  it("keepLocally changes in place", () => {
    expect(diff({ ...base, keepLocally: false })).toEqual({ changed: ["keepLocally"], replaces: [] });
  });

  it("refuses build fields it does not carry out, by name", () => {
    for (const field of ["builder", "secrets", "cacheTos", "platform", "authConfigs", "remoteContext", "memory"]) {
      expect(() => checkInputs(TYPE, remoteImage.schema, { ...base, build: { ...base.build, [field]: "x" } })).toThrow(
        new RegExp(`input property 'build\\.${field}' is not implemented`),
      );
    }
    expect(() => checkInputs(TYPE, remoteImage.schema, { ...base, pullTriggers: ["x"] })).toThrow(NotImplementedError);
  });

  it("refuses useLegacyBuilder and pullParent set to true", () => {
    expect(() => remoteImage.validate!({ ...base, build: { ...base.build, useLegacyBuilder: true } })).toThrow(/useLegacyBuilder = true is not implemented/);
    expect(() => remoteImage.validate!({ ...base, build: { ...base.build, pullParent: true } })).toThrow(/never pulls/);
    expect(() => remoteImage.validate!({ ...base, build: { ...base.build, pullParent: false, useLegacyBuilder: false } })).not.toThrow();
  });
});

describe("build context", () => {
  it("resolves the context (with ~) and a relative dockerfile inside it", () => {
    expect(resolveBuildPaths("~/app", "Dockerfile", "/home/u")).toEqual({ contextDir: "/home/u/app", dockerfilePath: "/home/u/app/Dockerfile" });
    expect(resolveBuildPaths("/src/app/", "docker/Dockerfile.prod")).toEqual({ contextDir: "/src/app", dockerfilePath: "/src/app/docker/Dockerfile.prod" });
    expect(resolveBuildPaths("/src/app", "/elsewhere/Dockerfile").dockerfilePath).toBe("/elsewhere/Dockerfile");
    expect(resolveBuildPaths("rel", "Dockerfile").contextDir).toBe(path.resolve("rel"));
  });

  it("filters with Docker's .dockerignore semantics", () => {
    const f = contextFilter("# comment\n/secret.txt\n*.log\nlogs\n!logs/keep.log\n**/.env\n");
    expect(["secret.txt", "x.log", "logs/a.log", ".env", "a/b/.env"].filter(f.includes)).toEqual([]);
    // Top-level patterns only; case-sensitive, as on Linux.
    expect(["a/secret.txt", "a/x.log", "logs/keep.log", "Secret.txt", "keep.txt"].every(f.includes)).toBe(true);
    // An excluded directory is still entered when an exception may re-include something below it.
    expect(f.enters("logs")).toBe(true);
    const g = contextFilter("logs\n!other/keep\n");
    expect(g.enters("logs")).toBe(false);
    expect(g.enters("other")).toBe(true);
  });

  it("finds the Dockerfile in the context unless it is outside or excluded", () => {
    const all = () => true;
    expect(dockerfileInContext("/c", "/c/Dockerfile", all)).toBe("Dockerfile");
    expect(dockerfileInContext("/c", "/c/d/Dockerfile.x", all)).toBe("d/Dockerfile.x");
    expect(dockerfileInContext("/c", "/elsewhere/Dockerfile", all)).toBeUndefined();
    expect(dockerfileInContext("/c", "/c/Dockerfile", (rel) => rel !== "Dockerfile")).toBeUndefined();
  });

  describe("the tar sent to the daemon", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "lah-ctx-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const write = (rel: string, content: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content);
    };
    /** Unpacks what packContext streams; lists its regular files, relative and sorted. */
    const unpack = async (tar: NodeJS.ReadableStream): Promise<{ files: string[]; root: string }> => {
      const out = fs.mkdtempSync(path.join(dir, "..", "lah-out-"));
      const headers: { name: string; uid: number; gid: number }[] = [];
      await new Promise<void>((resolve, reject) => {
        const x = tarFs.extract(out, { map: (h) => (headers.push(h), h) });
        x.on("finish", resolve);
        x.on("error", reject);
        tar.pipe(x);
      });
      expect(headers.every((h) => h.uid === 0 && h.gid === 0)).toBe(true);
      const files: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else files.push(path.relative(out, p));
        }
      };
      walk(out);
      return { files: files.sort(), root: out };
    };

    it("leaves out what .dockerignore excludes, keeps exceptions, owns everything by root", async () => {
      write("Dockerfile", "FROM scratch\n");
      write(".dockerignore", "secret.txt\nlogs\n!logs/keep.log\nnode_modules\n");
      write("keep.txt", "k");
      write("secret.txt", "s");
      write("logs/a.log", "a");
      write("logs/keep.log", "k");
      write("node_modules/x/index.js", "x");
      const p = packContext(dir, path.join(dir, "Dockerfile"));
      expect(p).toMatchObject({ dockerfile: "Dockerfile", dockerfileAdded: false });
      const { files, root } = await unpack(p.tar);
      fs.rmSync(root, { recursive: true, force: true });
      expect(files).toEqual([".dockerignore", "Dockerfile", "keep.txt", "logs/keep.log"]);
    });

    it("sends a Dockerfile that the context excludes under a name of its own", async () => {
      write("Dockerfile", "FROM scratch\n");
      write(".dockerignore", "Dockerfile\n");
      write("app.js", "a");
      const p = packContext(dir, path.join(dir, "Dockerfile"));
      expect(p.dockerfileAdded).toBe(true);
      expect(p.dockerfile).toMatch(/^\.dockerfile\.[0-9a-f]{20}$/);
      const { files, root } = await unpack(p.tar);
      expect(fs.readFileSync(path.join(root, p.dockerfile), "utf8")).toBe("FROM scratch\n");
      fs.rmSync(root, { recursive: true, force: true });
      expect(files).toEqual([".dockerignore", p.dockerfile, "app.js"].sort());
    });
  });
});

describe("build query and events", () => {
  it("maps the block to /build with BuildKit: every tag, build args, label (not labels), target", () => {
    const q = buildQuery(
      "svc:1",
      { context: "/c", dockerfile: "Dockerfile", buildArgs: { A: "1" }, label: { l: "v" }, labels: { ignored: "x" }, tags: ["svc:latest"], target: "run", noCache: true, remove: true },
      "Dockerfile",
    );
    expect(q).toEqual({ t: ["svc:1", "svc:latest"], dockerfile: "Dockerfile", version: "2", buildargs: { A: "1" }, labels: { l: "v" }, target: "run", nocache: true, rm: true });
  });

  it("reads the daemon's error from the stream", () => {
    expect(buildEventError({ errorDetail: { message: "executor failed running [/bin/sh -c false]: exit code: 1" }, error: "x" })).toBe(
      "executor failed running [/bin/sh -c false]: exit code: 1",
    );
    expect(buildEventError({ error: "only this" })).toBe("only this");
    expect(buildEventError({})).toBeUndefined();
  });
});
