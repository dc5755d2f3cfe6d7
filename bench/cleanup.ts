/**
 * Undo steps registered as the benchmark creates things; all run (last first) at the end, on
 * failure too, and on SIGINT/SIGTERM. A failing step is reported and the others still run.
 */
import { liveChildren, run, sleep } from "./exec";

/** Waits (up to a limit) for the Docker engine to answer: another job on the machine may be restarting it. */
async function dockerAnswers(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await run("docker", ["info", "--format", "{{.ID}}"], { timeoutMs: 10_000 }).catch(() => undefined);
        if (r?.code === 0) return true;
        if (Date.now() > deadline) return false;
        await sleep(1000);
    }
}

const dockerGone = /Cannot connect to the Docker daemon|docker\.sock|ECONNREFUSED|ENOENT/i;

type Step = { label: string; fn: () => Promise<void> | void };

export class Cleanup {
    private steps: Step[] = [];
    private ran = false;

    add(label: string, fn: () => Promise<void> | void): void {
        this.steps.push({ label, fn });
    }

    async runAll(log: (msg: string) => void): Promise<boolean> {
        if (this.ran) return true;
        this.ran = true;
        let ok = true;
        if (!(await dockerAnswers(120_000))) log("cleanup: the Docker engine does not answer; trying anyway");
        for (const step of this.steps.reverse()) {
            try {
                await step.fn();
            } catch (err) {
                const msg = err instanceof Error ? err.message : String(err);
                if (dockerGone.test(msg) && (await dockerAnswers(120_000))) {
                    try {
                        await step.fn();
                        continue;
                    } catch (again) {
                        log(`cleanup: ${step.label} failed: ${again instanceof Error ? again.message : String(again)}`);
                    }
                } else {
                    log(`cleanup: ${step.label} failed: ${msg}`);
                }
                ok = false;
            }
        }
        this.steps = [];
        return ok;
    }

    /** On SIGINT/SIGTERM: end the children this process started (by PID), clean up, exit. */
    installSignalHandlers(log: (msg: string) => void): void {
        const onSignal = (signal: NodeJS.Signals) => {
            log(`${signal}: cleaning up`);
            for (const pid of liveChildren()) {
                try { process.kill(pid, "SIGTERM"); } catch { /* already gone */ }
            }
            void this.runAll(log).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
        };
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
    }
}
