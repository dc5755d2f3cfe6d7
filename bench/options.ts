/** Command line of the benchmark. */
import * as os from "os";
import * as path from "path";

export interface BenchOptions {
    smoke: boolean;
    knobs: boolean;
    /** The replicated form (Pulumi.replicated.yaml) against a Ceph RGW: 1 and 2 replicas, a big pull with redirect off and on. */
    replicated: boolean;
    /** The main run with the stack on token authentication (auth: token), plus the token service's own logins/s. */
    token: boolean;
    /** Where results go: bench/ for a full run, a temp dir for the smoke run. */
    outDir?: string;
    stack: string;
    /** Extra `--config k=v` for the stack (for development only; the real run uses none). */
    stackConfig: string[];
    baselinePort: number;
    pushPullRuns: number;
    loadRuns: number;
    loadSeconds: number;
    connections: number;
    layers: number;
    layerKiB: number;
    bigMiB: number;
    image: string;
}

export const usage = `usage: npm run bench -- [--smoke] [--knobs | --replicated | --token] [--out DIR] [--stack NAME] [--stack-config k=v]...
       [--baseline-port N] [--runs N] [--load-runs N] [--load-seconds N] [--layers N] [--layer-kib N] [--big-mib N]

  (default)  the full benchmark: the stack with its own defaults against the seed guide's registry;
             writes bench/results.json and bench/RESULTS.md
  --smoke    tiny sizes, one short run of each measurement, results in a temp dir; exits non-zero
             unless every figure is a positive number
  --knobs    the stack under each bcrypt cost and knob setting; writes bench/knobs.json and bench/KNOBS.md
  --token    the main run with the stack on token authentication (auth: token, one rule granting its
             users everything): bearer-token requests/s against the 401s, the token service's logins/s,
             push and pull against the seed guide's registry; writes bench/token.json and bench/TOKEN.md
  --replicated
             the replicated stack (default --stack replicated) on a Ceph RGW the run starts in a test
             network namespace: authenticated requests/s through the load balancer with 1 and 2
             replicas, then a push of one --big-mib layer (1024) and its pull (curl and docker, --runs
             times each) with s3Redirect off and on; writes bench/replicated.json and bench/REPLICATED.md.
             With --smoke: a 16 MiB layer, one run of everything, 2 s loads`;

/** The token run's access rules: the dev stack's users may do everything, so only the mechanism is measured. */
export const benchAccessRules = { rules: [{ users: ["admin", "ci"], repositories: ["**"], actions: ["*"] }] };

export function parseOptions(argv: string[]): BenchOptions {
    const o: BenchOptions = {
        smoke: argv.includes("--smoke"),
        knobs: argv.includes("--knobs"),
        replicated: argv.includes("--replicated"),
        token: argv.includes("--token"),
        stack: argv.includes("--replicated") ? "replicated" : "dev",
        stackConfig: [],
        baselinePort: 5443,
        pushPullRuns: 3,
        loadRuns: 5,
        loadSeconds: 2,
        connections: 4,
        layers: 40,
        layerKiB: 200,
        bigMiB: 1024,
        image: "registry:2.8.3",
    };
    if (o.smoke) Object.assign(o, { pushPullRuns: 1, loadRuns: 1, loadSeconds: 2, layers: 3, bigMiB: 1 });
    if ([o.knobs, o.replicated, o.token].filter(Boolean).length > 1) throw new Error(`--knobs, --replicated and --token are separate runs; pick one\n${usage}`);
    if (o.token) o.stackConfig.push("auth=token", `accessRules=${JSON.stringify(benchAccessRules)}`);
    if (o.knobs) Object.assign(o, { loadRuns: 4 });
    if (o.replicated) Object.assign(o, { bigMiB: o.smoke ? 16 : 1024 });
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${usage}`);
            return argv[++i];
        };
        const num = () => {
            const n = Number(next());
            if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
            return n;
        };
        switch (a) {
            case "--smoke": case "--knobs": case "--replicated": case "--token": break;
            case "--out": o.outDir = path.resolve(next()); break;
            case "--stack": o.stack = next(); break;
            case "--stack-config": o.stackConfig.push(next()); break;
            case "--baseline-port": o.baselinePort = num(); break;
            case "--runs": o.pushPullRuns = num(); break;
            case "--load-runs": o.loadRuns = num(); break;
            case "--load-seconds": o.loadSeconds = num(); break;
            case "--layers": o.layers = num(); break;
            case "--layer-kib": o.layerKiB = num(); break;
            case "--big-mib": o.bigMiB = num(); break;
            case "-h": case "--help": throw new Error(usage);
            default: throw new Error(`unknown argument ${a}\n${usage}`);
        }
    }
    return o;
}

export function defaultOutDir(o: BenchOptions): string | undefined {
    if (o.outDir) return o.outDir;
    if (o.smoke) return undefined; // a fresh temp dir
    return path.resolve(__dirname);
}

export function tmpBase(): string {
    return os.tmpdir();
}
