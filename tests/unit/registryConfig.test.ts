import * as YAML from "yaml";
import { registryFiles, registryRuntimeEnv, renderRegistryConfig } from "../../components/registryConfig";

describe("renderRegistryConfig", () => {
    const parsed = YAML.parse(renderRegistryConfig({ httpSecret: "a-secret-of-sixty-four-characters" }));

    it("serves TLS 1.2 and later with the uploaded certificate and key", () => {
        expect(parsed.http.tls).toEqual({
            certificate: registryFiles.certificate,
            key: registryFiles.key,
            minimumtls: "tls1.2",
        });
        expect(parsed.http.addr).toBe(":5000");
    });

    it("authenticates with the htpasswd file", () => {
        expect(parsed.auth).toEqual({ htpasswd: { realm: "private-registry", path: registryFiles.htpasswd } });
    });

    it("enables the delete API and carries the http secret", () => {
        expect(parsed.storage.delete).toEqual({ enabled: true });
        expect(parsed.http.secret).toBe("a-secret-of-sixty-four-characters");
    });

    it("keeps the debug server (health and metrics) on the container's loopback only", () => {
        expect(parsed.http.debug.addr).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(parsed.http.debug.prometheus.enabled).toBe(true);
    });

    it("stores data on the data volume and purges abandoned uploads", () => {
        expect(parsed.storage.filesystem.rootdirectory).toBe("/var/lib/registry");
        expect(parsed.storage.maintenance.uploadpurging.enabled).toBe(true);
        expect(parsed.version).toBe(0.1);
    });

    it("turns the blob descriptor cache and HTTP/2 on or off", () => {
        const off = YAML.parse(renderRegistryConfig({ httpSecret: "x", blobDescriptorCache: false, http2: false }));
        expect(off.storage.cache).toBeUndefined();
        expect(off.http.http2.disabled).toBe(true);
        expect(parsed.storage.cache.blobdescriptor).toBe("inmemory");
        expect(parsed.http.http2.disabled).toBe(false);
    });

    it("logs at warn unless told otherwise, keeping the access log", () => {
        expect(parsed.log.level).toBe("warn");
        expect(parsed.log.accesslog.disabled).toBe(false);
        expect(YAML.parse(renderRegistryConfig({ httpSecret: "x", logLevel: "info" })).log.level).toBe("info");
    });

    it("quotes whatever the secret contains so the YAML stays valid", () => {
        const tricky = 'x: "y" # z\n- w';
        expect(YAML.parse(renderRegistryConfig({ httpSecret: tricky })).http.secret).toBe(tricky);
    });
});

describe("registryRuntimeEnv", () => {
    it("sets GOGC and holds the heap under three quarters of the memory limit", () => {
        expect(registryRuntimeEnv(512)).toEqual(["GOGC=400", "GOMEMLIMIT=384MiB"]);
        expect(registryRuntimeEnv(1000, 100)).toEqual(["GOGC=100", "GOMEMLIMIT=750MiB"]);
        expect(registryRuntimeEnv(65, 25)).toEqual(["GOGC=25", "GOMEMLIMIT=48MiB"]);
    });
});
