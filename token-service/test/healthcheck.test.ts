import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { loadSettings } from "../src/config";
import { probeHost, runHealthcheck } from "../src/healthcheck";
import { RunningService, startService } from "../src/server";
import { ACCESS_YAML, Fixture, makeFixture } from "./support/fixture";
import { makeCa, makeLeaf } from "./support/pki";
import { freePort, waitFor } from "./support/processes";

describe("probeHost", () => {
    it("dials loopback for wildcard addresses and the address itself otherwise", () => {
        expect(probeHost("0.0.0.0")).toBe("127.0.0.1");
        expect(probeHost("::")).toBe("127.0.0.1");
        expect(probeHost("127.0.0.1")).toBe("127.0.0.1");
        expect(probeHost("10.1.2.3")).toBe("10.1.2.3");
    });
});

describe("runHealthcheck against the real server", () => {
    let fixture: Fixture;
    let service: RunningService;
    beforeAll(async () => {
        fixture = makeFixture({ port: await freePort() });
        // The wildcard address, as in the container: the probe must find the server on loopback.
        const settings = JSON.parse(readFileSync(fixture.settingsFile, "utf8")) as Record<string, unknown>;
        writeFileSync(fixture.settingsFile, JSON.stringify({ ...settings, host: "0.0.0.0" }));
        service = await startService(loadSettings(fixture.settingsFile), () => undefined, 100);
    });
    afterAll(async () => {
        await service?.close();
        rmSync(fixture.dir, { recursive: true, force: true });
    });

    it("exits 0 while the server answers /healthz with 200, given the settings as argument or in TOKEN_SERVICE_CONFIG", async () => {
        expect(await runHealthcheck([fixture.settingsFile], {})).toEqual({ code: 0, message: "GET /healthz: 200" });
        expect((await runHealthcheck([], { TOKEN_SERVICE_CONFIG: fixture.settingsFile })).code).toBe(0);
    });

    it("exits 1 while the access file is broken (503), and 0 again once it is fixed", async () => {
        writeFileSync(fixture.accessFile, "rules: [ broken");
        await waitFor("the server to notice the broken file", async () => (await runHealthcheck([fixture.settingsFile], {})).code === 1, 5000);
        expect(await runHealthcheck([fixture.settingsFile], {})).toEqual({ code: 1, message: "GET /healthz: 503" });
        writeFileSync(fixture.accessFile, ACCESS_YAML);
        await waitFor("recovery", async () => (await runHealthcheck([fixture.settingsFile], {})).code === 0, 5000);
    });

    it("exits 1 when the server presents a certificate other than the settings' tlsCert", async () => {
        const original = readFileSync(fixture.tls.cert);
        const other = makeLeaf(join(fixture.dir), "other", makeCa(fixture.dir, "other-ca"));
        writeFileSync(fixture.tls.cert, readFileSync(other.cert)); // the running server keeps the old one
        try {
            const result = await runHealthcheck([fixture.settingsFile], {});
            expect(result.code).toBe(1);
            expect(result.message).toMatch(/certificate/i);
        } finally {
            writeFileSync(fixture.tls.cert, original);
        }
        expect((await runHealthcheck([fixture.settingsFile], {})).code).toBe(0);
    });

    it("exits 1 when nothing listens on the port", async () => {
        const settings = JSON.parse(readFileSync(fixture.settingsFile, "utf8")) as Record<string, unknown>;
        const elsewhere = join(fixture.dir, "elsewhere.json");
        writeFileSync(elsewhere, JSON.stringify({ ...settings, port: await freePort([service.port]) }));
        const result = await runHealthcheck([elsewhere], {});
        expect(result.code).toBe(1);
        expect(result.message).toContain("ECONNREFUSED");
    });

    it("exits 1 within the timeout when the port accepts but never answers", async () => {
        const silent = createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const settings = JSON.parse(readFileSync(fixture.settingsFile, "utf8")) as Record<string, unknown>;
        const silentSettings = join(fixture.dir, "silent.json");
        writeFileSync(silentSettings, JSON.stringify({ ...settings, port: (silent.address() as { port: number }).port }));
        const started = Date.now();
        try {
            expect(await runHealthcheck([silentSettings], {}, 500)).toEqual({ code: 1, message: "no answer within 500 ms" });
            expect(Date.now() - started).toBeLessThan(2000);
        } finally {
            silent.close();
        }
    });

    it("exits 1 without settings, or with unreadable ones", async () => {
        expect((await runHealthcheck([], {})).code).toBe(1);
        expect((await runHealthcheck([join(fixture.dir, "missing.yaml")], {})).code).toBe(1);
    });
});
