/**
 * Undo steps registered as the benchmark creates things; all run (last first) at the end, on
 * failure too, and on SIGINT/SIGTERM. A failing step is reported and the others still run.
 */
import { liveChildren } from "./exec";

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
        for (const step of this.steps.reverse()) {
            try {
                await step.fn();
            } catch (err) {
                ok = false;
                log(`cleanup: ${step.label} failed: ${err instanceof Error ? err.message : String(err)}`);
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
