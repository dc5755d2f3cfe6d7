import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import {
    cronScheduleProblem, frontFiles, frontServerName, maintenanceRefusalMessage, MaintenanceScriptOptions, registrySettingsProblems, renderFrontConfig,
    renderMaintenanceInstallScript, renderMaintenanceRemoveScript, renderMaintenanceScript, renderRegistryConfig, defaultRegistrySettings,
} from "../../components";

const options: MaintenanceScriptOptions = {
    primaryContainer: "registry", standbyContainer: "registry-standby", frontContainer: "registry-front",
    dataVolume: "registry-data", configVolume: "registry-config", image: `registry:2.8.3@sha256:${"a".repeat(64)}`,
    backupDir: "/var/backups/private-registry", backupRetention: 7, registryUser: "1000:1000", gcDeleteUntagged: false,
};

function tool(command: string, args: string[], input?: string) {
    const result = spawnSync(command, args, { encoding: "utf8", input });
    if (result.error) throw new Error(`${command} is not installed: run bash tests/setup/prepare-machine.sh (${result.error.message})`);
    return result;
}

describe("cron schedules", () => {
    it.each(["0 3 * * 0", "30 2 * * *", "*/15 * * * *", "0 3 1,15 * *", "0 3 * * 1-5", "0 3 * * sun", "0 3 * jan *", "@daily", "@weekly"])(
        "accepts %s", (schedule) => expect(cronScheduleProblem(schedule)).toBeUndefined());

    it.each([
        ["0 3 * *", /has 4 fields; cron takes five/],
        ["0 0 3 * * *", /has 6 fields/],
        ["0 25 * * *", /expected range 0-23/],
        ["61 3 * * *", /expected range 0-59/],
        ["0 3 L * *", /day of month field "L"/],
        ["0 3 ? * *", /day of month field "\?"/],
        ["H 3 * * *", /minute field "H"/],
        ["@reboot", /not one of cron's macros/],
        ["0 3 * * 8", /expected range 0-7/],
    ])("refuses %s", (schedule, message) => expect(cronScheduleProblem(schedule)).toMatch(message));
});

describe("maintenance settings", () => {
    const problems = (overrides: Record<string, unknown>) =>
        registrySettingsProblems({ ...defaultRegistrySettings, hostnames: ["registry.example.com"], users: ["admin"], ...overrides }, (f) => `private-registry:${f}`, false);

    it("accepts the defaults, and empty schedules", () => {
        expect(problems({})).toEqual([]);
        expect(problems({ maintenanceGcSchedule: "", maintenanceBackupSchedule: "" })).toEqual([]);
    });

    it("names the key and the fix for each bad value", () => {
        expect(problems({ maintenanceGcSchedule: "0 3 * *" })).toEqual([
            expect.stringMatching(/^private-registry:maintenanceGcSchedule: "0 3 \* \*" has 4 fields.*Fix: pulumi config set private-registry:maintenanceGcSchedule "0 3 \* \* 0", or "" for no schedule$/),
        ]);
        expect(problems({ maintenanceBackupRetention: 0 })).toEqual([expect.stringMatching(/^private-registry:maintenanceBackupRetention: 0 is outside 1-1000/)]);
        expect(problems({ maintenanceBackupDir: "backups" })).toEqual([expect.stringMatching(/^private-registry:maintenanceBackupDir: "backups" is not an absolute path/)]);
        expect(problems({ maintenanceBackupDir: "/var/backups/../etc" })).toEqual([expect.stringMatching(/maintenanceBackupDir/)]);
        expect(problems({ maintenanceBackupDir: "/var/backups/it's" })).toEqual([expect.stringMatching(/maintenanceBackupDir/)]);
        expect(problems({ frontImage: "haproxy:3.0-alpine" })).toEqual([expect.stringMatching(/^private-registry:frontImage: "haproxy:3.0-alpine" is not pinned by digest/)]);
    });

    it("checks none of them with maintenance off", () => {
        expect(problems({ maintenanceEnabled: false, maintenanceGcSchedule: "nonsense", frontImage: "haproxy", maintenanceBackupRetention: 0 })).toEqual([]);
    });
});

describe("the standby's config", () => {
    it("is read-only and purges no uploads; the writable registry's purges them and drains on stop", () => {
        const standby = YAML.parse(renderRegistryConfig({ httpSecret: "s", readOnly: true }));
        expect(standby.storage.maintenance).toEqual({ uploadpurging: expect.objectContaining({ enabled: false }), readonly: { enabled: true } });
        const primary = YAML.parse(renderRegistryConfig({ httpSecret: "s" }));
        expect(primary.storage.maintenance.readonly).toBeUndefined();
        expect(primary.storage.maintenance.uploadpurging.enabled).toBe(true);
        expect(primary.http.draintimeout).toBe("20s");
    });
});

describe("the front's haproxy.cfg", () => {
    const cfg = renderFrontConfig({ backends: ["registry-primary:5000"], standbyHost: "registry-standby", verifyHostname: "registry.example.com" });

    it("passes TCP through to the writable registry and falls back to its own TLS listener", () => {
        expect(cfg).toMatch(/frontend registry\n {4}mode tcp\n {4}bind :5000\n/);
        expect(cfg).toContain("server replica-1 registry-primary:5000 check check-ssl check-alpn http/1.1 verify required ca-file /usr/local/etc/haproxy/ca.crt verifyhost registry.example.com");
        expect(cfg).toMatch(/server standby 127\.0\.0\.1:5443 backup\n/);
        expect(cfg).toContain(`bind 127.0.0.1:5443 ssl crt ${frontFiles.serverPem}`);
        expect(cfg).toContain(`verify required ca-file ${frontFiles.caCert} verifyhost registry.example.com`);
        expect(cfg).toContain("stats socket ipv4@127.0.0.1:9999 level admin");
    });

    it("refuses writes with a JSON error docker prints, and lets reads through", () => {
        const line = cfg.split("\n").find((l) => l.includes("http-request return"))!;
        expect(line).toMatch(/status 405 content-type application\/json string '.*' unless \{ method GET HEAD OPTIONS \}$/);
        const body = JSON.parse(/string '(.*)' unless/.exec(line)![1]);
        expect(body).toEqual({ errors: [{ code: "UNSUPPORTED", message: maintenanceRefusalMessage }] });
    });

    it("balances across replicas, each checked over TLS; without a standby it has no standby listener", () => {
        const replicated = renderFrontConfig({ backends: ["registry-1:5000", "10.0.0.12:5000"], standbyHost: "", verifyHostname: "registry.example.com" });
        expect(replicated).toContain("    balance leastconn\n");
        expect(replicated).toContain("    option redispatch 1\n");
        expect(replicated).toMatch(/server replica-1 registry-1:5000 check check-ssl .*\n {4}server replica-2 10\.0\.0\.12:5000 check check-ssl /);
        expect(replicated).not.toContain("standby");
    });

    it("is valid for HAProxy (haproxy -c)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "front-cfg-"));
        try {
            // haproxy -c loads the certificate files, so give it real ones at the paths the config names.
            const key = path.join(dir, "key.pem");
            const cert = path.join(dir, "cert.pem");
            tool("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=registry.example.com"]);
            fs.writeFileSync(path.join(dir, "server.pem"), fs.readFileSync(cert, "utf8") + fs.readFileSync(key, "utf8"));
            fs.copyFileSync(cert, path.join(dir, "ca.crt"));
            const replicated = renderFrontConfig({ backends: ["registry-1:5000", "10.0.0.12:5000"], standbyHost: "", verifyHostname: "registry.example.com" });
            for (const text of [replicated, cfg]) {
                fs.writeFileSync(path.join(dir, "haproxy.cfg"), text.split(path.dirname(frontFiles.config)).join(dir));
                const check = tool("haproxy", ["-c", "-f", path.join(dir, "haproxy.cfg")]);
                expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: expect.stringContaining("Configuration file is valid") });
            }
            const local = cfg.split(path.dirname(frontFiles.config)).join(dir);
            // The check has teeth: a broken line is refused.
            fs.writeFileSync(path.join(dir, "haproxy.cfg"), local.replace("mode tcp", "mode tcpx"));
            expect(tool("haproxy", ["-c", "-f", path.join(dir, "haproxy.cfg")]).status).not.toBe(0);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the maintenance script", () => {
    it("passes shellcheck, with its install and remove scripts", () => {
        for (const script of [renderMaintenanceScript(options), renderMaintenanceScript({ ...options, objectStorageNetwork: "registry-net" }),
            renderMaintenanceScript({ ...options, replicaContainers: ["registry-2", "registry-3"], cacheContainer: "registry-redis", dataVolume: "", objectStorageNetwork: "registry-net" }),
            renderMaintenanceInstallScript(options, { gc: "0 3 * * 0", backup: "30 2 * * *" }), renderMaintenanceRemoveScript("registry")]) {
            const check = tool("shellcheck", ["--shell=sh", "--severity=style", "-"], script);
            expect({ status: check.status, out: check.stdout }).toEqual({ status: 0, out: "" });
        }
    });

    it("refuses backup and restore when the data is in S3, before touching anything", () => {
        const script = renderMaintenanceScript({ ...options, objectStorageNetwork: "registry-net" });
        for (const args of [["backup"], ["restore", "/nonexistent.tar.gz"]]) {
            const result = spawnSync("/bin/sh", ["-s", ...args], { input: script, encoding: "utf8" });
            expect({ status: result.status, err: result.stderr }).toEqual({
                status: 1, err: expect.stringMatching(/error: the registry keeps its data in S3, not in a volume: (back up|restore) the bucket with the object store's own tools/),
            });
        }
    });

    it("names the containers, volumes and backup settings it was given, quoted", () => {
        const script = renderMaintenanceScript({ ...options, backupRetention: 3, gcDeleteUntagged: true });
        expect(script).toContain("PRIMARY='registry'\nWRITABLE='registry'\nCACHE=''\nSTANDBY='registry-standby'\nFRONT='registry-front'\nDATA_VOLUME='registry-data'\nCONFIG_VOLUME='registry-config'");
        expect(script).toContain("RETENTION=3\nGC_FLAGS='--delete-untagged'");
        expect(renderMaintenanceScript(options)).toContain("GC_FLAGS=''");
    });

    it("with replicas, takes every one out of the front and stops them all, and empties their Redis before they start again", () => {
        const script = renderMaintenanceScript({ ...options, primaryContainer: "registry-1", replicaContainers: ["registry-2"], cacheContainer: "registry-redis", dataVolume: "", objectStorageNetwork: "registry-net" });
        expect(script).toContain("WRITABLE='registry-1 registry-2'\nCACHE='registry-redis'");
        // The front's servers, in the order the front names them.
        const servers = spawnSync("/bin/sh", ["-c", `${/^WRITABLE=.*$/m.exec(script)![0]}\n${/^writable_servers\(\) \{[\s\S]*?\n\}/m.exec(script)![0]}\nwritable_servers`], { encoding: "utf8" });
        expect(servers.stdout).toBe(`${frontServerName(0)} registry-1\n${frontServerName(1)} registry-2\n`);
        const windowEnd = /^window_end\(\) \{[\s\S]*?\n\}/m.exec(script)![0];
        expect(windowEnd.indexOf('docker restart "$CACHE"')).toBeGreaterThan(0);
        expect(windowEnd.indexOf('docker restart "$CACHE"')).toBeLessThan(windowEnd.indexOf("docker start $WRITABLE"));
        // With no volume, gc mounts an anonymous one rather than an empty name.
        expect(script).toContain(`data_mount=${"/var/lib/registry"}`);
    });

    it("schedules only the jobs with a schedule, tagged so a later up or destroy replaces exactly its lines", () => {
        const both = renderMaintenanceInstallScript(options, { gc: "0 3 * * 0", backup: "30 2 * * *" });
        expect(both).toContain(`echo "0 3 * * 0 '$SCRIPT' gc >>'$LOG' 2>&1 # private-registry-maintenance:registry"`);
        expect(both).toContain(`echo "30 2 * * * '$SCRIPT' backup >>'$LOG' 2>&1 # private-registry-maintenance:registry"`);
        expect(both).toContain("grep -vF '# private-registry-maintenance:registry'");
        const gcOnly = renderMaintenanceInstallScript(options, { gc: "@weekly", backup: "" });
        expect(gcOnly).not.toContain("' backup >>");
        expect(renderMaintenanceRemoveScript("registry")).toContain("grep -vF '# private-registry-maintenance:registry'");
    });

    it("installs and uninstalls for real, in a user's crontab, leaving the script for restores", () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "maint-home-"));
        const fakeBin = path.join(home, "fake-bin");
        const crontabFile = path.join(home, "crontab.txt");
        fs.mkdirSync(fakeBin);
        // A crontab stand-in with crontab's interface (-l lists, - replaces), so no real crontab is touched.
        fs.writeFileSync(path.join(fakeBin, "crontab"), [
            "#!/bin/sh",
            `case "$1" in`,
            `  -l) [ -f '${crontabFile}' ] && exec cat '${crontabFile}'; echo "no crontab for $(id -un)" >&2; exit 1 ;;`,
            `  -r) rm -f '${crontabFile}' ;;`,
            `  -) cat > '${crontabFile}' ;;`,
            "esac", "",
        ].join("\n"), { mode: 0o755 });
        fs.writeFileSync(crontabFile, "15 1 * * * /usr/bin/other-job\n");
        const env = { ...process.env, HOME: home, PATH: `${fakeBin}:${process.env.PATH}` };
        // As a user other than root: the script goes to ~/.local/bin.
        const asUser = (script: string) => spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script], { encoding: "utf8", env });
        try {
            fs.chownSync(home, 65534, 65534);
            fs.chownSync(crontabFile, 65534, 65534);
            for (let run = 0; run < 2; run++) {
                const install = asUser(renderMaintenanceInstallScript(options, { gc: "0 3 * * 0", backup: "30 2 * * *" }));
                expect({ status: install.status, err: install.stderr }).toEqual({ status: 0, err: "" });
            }
            const lines = fs.readFileSync(crontabFile, "utf8").trim().split("\n");
            expect(lines).toEqual([
                "15 1 * * * /usr/bin/other-job",
                `0 3 * * 0 '${home}/.local/bin/private-registry-maintenance-registry' gc >>'${home}/.local/state/private-registry-maintenance-registry.log' 2>&1 # private-registry-maintenance:registry`,
                `30 2 * * * '${home}/.local/bin/private-registry-maintenance-registry' backup >>'${home}/.local/state/private-registry-maintenance-registry.log' 2>&1 # private-registry-maintenance:registry`,
            ]);
            const installed = path.join(home, ".local/bin/private-registry-maintenance-registry");
            expect(fs.readFileSync(installed, "utf8")).toBe(renderMaintenanceScript(options));
            expect(fs.statSync(installed).mode & 0o777).toBe(0o755);
            const usage = spawnSync(installed, [], { encoding: "utf8" });
            expect({ status: usage.status, err: usage.stderr }).toEqual({ status: 2, err: "usage: private-registry-maintenance-registry gc | backup | restore <archive> | list\n" });

            const remove = asUser(renderMaintenanceRemoveScript("registry"));
            expect(remove.status).toBe(0);
            expect(fs.readFileSync(crontabFile, "utf8")).toBe("15 1 * * * /usr/bin/other-job\n");
            expect(fs.existsSync(installed)).toBe(true);

            // Removing is idempotent, with no crontab at all too.
            fs.rmSync(crontabFile);
            for (let run = 0; run < 2; run++) expect(asUser(renderMaintenanceRemoveScript("registry")).status).toBe(0);

            // Two registries installed at once keep each other's lines (the crontab edit is locked).
            const both = ["builds", "releases"].map((container) => `(${renderMaintenanceInstallScript({ ...options, primaryContainer: container }, { gc: "@daily", backup: "" }).replace(/'/g, "'\\''")}) &`);
            const together = asUser(`${both.map((b) => b.replace(/^\(/, "sh -c '").replace(/\) &$/, "' &")).join("\n")}\nwait`);
            expect(together.status).toBe(0);
            const tagged = fs.readFileSync(crontabFile, "utf8").trim().split("\n").map((l) => l.split(" # ")[1]).sort();
            expect(tagged).toEqual(["private-registry-maintenance:builds", "private-registry-maintenance:releases"]);
        } finally {
            fs.rmSync(home, { recursive: true, force: true });
        }
    });
});
