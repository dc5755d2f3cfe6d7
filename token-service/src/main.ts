/** Entry point: `node dist/main.js <settings.yaml>` (or TOKEN_SERVICE_CONFIG). SIGHUP reloads every file. */
import { loadSettings } from "./config";
import { jsonLogger, startService } from "./server";

async function main(): Promise<void> {
    const path = process.argv[2] ?? process.env.TOKEN_SERVICE_CONFIG;
    if (path === undefined) {
        process.stderr.write("usage: main.js <settings.yaml> (or set TOKEN_SERVICE_CONFIG)\n");
        process.exit(2);
    }
    const service = await startService(loadSettings(path));
    process.on("SIGHUP", () => service.reload(true));
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.once(signal, () => void service.close().then(() => process.exit(0)));
    }
}

main().catch((error: Error) => {
    jsonLogger({ level: "error", msg: "cannot start", error: error.message });
    process.exit(1);
});
