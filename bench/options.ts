/** Command line of the benchmark. */
import * as os from "os";
import * as path from "path";

export interface BenchOptions {
    smoke: boolean;
    knobs: boolean;
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

export const usage = `usage: npm run bench -- [--smoke] [--knobs] [--out DIR] [--stack NAME] [--stack-config k=v]...
       [--baseline-port N] [--runs N] [--load-runs N] [--load-seconds N] [--layers N] [--layer-kib N] [--big-mib N]

  (default)  the full benchmark: the stack with its own defaults against the seed guide's registry;
             writes bench/results.json and bench/RESULTS.md
  --smoke    tiny sizes, one short run of each measurement, results in a temp dir; exits non-zero
             unless every figure is a positive number
  --knobs    the stack under each bcrypt cost and knob setting; writes bench/knobs.json and bench/KNOBS.md`;

export function parseOptions(argv: string[]): BenchOptions {
    const o: BenchOptions = {
        smoke: argv.includes("--smoke"),
        knobs: argv.includes("--knobs"),
        stack: "dev",
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
    if (o.knobs) Object.assign(o, { loadRuns: 4 });
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
            case "--smoke": case "--knobs": break;
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
