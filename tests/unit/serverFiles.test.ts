import { registryFilesDigest, registryUploads, renderInitScript } from "../../components/serverFiles";

const files = { configYaml: "version: 0.1\n", htpasswd: "a:$2b$...\n", certificatePem: "CERT", keyPem: "KEY" };

describe("registryUploads", () => {
    const uploads = registryUploads(files, 1000, 1001);

    it("makes every secret readable only by the registry's user", () => {
        const mode = (name: string) => uploads.find((u) => u.file.endsWith(name))!.permissions;
        expect(mode("/config.yml")).toBe("0400");
        expect(mode("/htpasswd")).toBe("0400");
        expect(mode("/server.key")).toBe("0400");
        expect(mode("/server.crt")).toBe("0444");
        for (const u of uploads) {
            expect(u.owner).toBe("1000");
            expect(u.group).toBe("1001");
        }
    });
});

describe("registryFilesDigest", () => {
    it("changes when any file changes", () => {
        const base = registryFilesDigest(files);
        expect(registryFilesDigest({ ...files })).toBe(base);
        for (const field of Object.keys(files) as (keyof typeof files)[]) {
            expect(registryFilesDigest({ ...files, [field]: files[field] + "x" })).not.toBe(base);
        }
    });
});

describe("renderInitScript", () => {
    it("hands the data volume to the registry's user only when it isn't theirs yet", () => {
        const script = renderInitScript(1000, 1000);
        expect(script).toContain('if [ "$(stat -c %u:%g /var/lib/registry/docker)" != "1000:1000" ]; then chown -R 1000:1000 /var/lib/registry; fi');
        // Never leaves the volume empty, or Docker's copy-up gives it back to root at the next mount.
        expect(script.indexOf("mkdir -p /var/lib/registry/docker")).toBeLessThan(script.indexOf("chown"));
        expect(script.split("\n")[0]).toBe("set -eu");
    });
});
