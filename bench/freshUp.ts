/**
 * How long a fresh `up` takes to give an authenticated 200 (issue 11, part 8), on a stack of its own:
 * `down`, then `up` timed from its start, a few times. Two figures per run: the first authenticated 200
 * from /v2/ while `up` is still running (polled from the start), and `up` returning, which waits for
 * the container's healthcheck (Docker 25+ probes every startInterval during the start period; older
 * engines ignore that and the first probe comes after the 30 s interval).
 *
 *   npx ts-node --transpile-only bench/freshUp.ts [--runs 5] [--port 5318]
 */
import { runOk } from "./exec";
import { HarnessStack } from "./stack";
import { median } from "./stats";

function option(name: string, fallback: number): number {
    const i = process.argv.indexOf(name);
    const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
    return value;
}

async function main(): Promise<void> {
    const runs = option("--runs", 5);
    const port = option("--port", 5318);
    const containerName = "freshup-bench-registry";
    const stack = new HarnessStack("freshup-bench", [
        `port=${port}`, "ipAddresses=[127.0.0.1]", `containerName=${containerName}`, "dataVolumeName=freshup-bench-data", "protectData=false", "users=[admin]",
    ]);
    const engine = (await runOk("docker", ["version", "--format", "{{.Server.Version}}"])).stdout.trim();
    const rows: { first200: number; upExited: number; healthy?: number }[] = [];
    try {
        for (let i = 0; i < runs; i++) {
            await stack.down();
            const { timing } = await stack.upTimed(port, containerName);
            rows.push({ first200: timing.firstAuthenticated200, upExited: timing.upExited, healthy: timing.healthy });
            console.log(`run ${i + 1}: first authenticated 200 ${timing.firstAuthenticated200.toFixed(2)} s, healthy ${timing.healthy?.toFixed(2)} s, up returned ${timing.upExited.toFixed(2)} s`);
        }
    } finally {
        await stack.down();
    }
    const summary = (values: number[]) => `median ${median(values).toFixed(1)} s, range ${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)} s`;
    console.log(`Docker ${engine}, ${runs} fresh ups:`);
    console.log(`  first authenticated 200 while up runs: ${summary(rows.map((r) => r.first200))}`);
    console.log(`  up returned (container healthy):       ${summary(rows.map((r) => r.upExited))}`);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
