/**
 * Issue 11 parts 5 and 7: the rendered `notifications` and `proxy` sections, their validation
 * (component args and stack keys), and that header values and the upstream password only ever
 * travel as secrets.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import {
    notificationEndpointProblems, notificationStackConfigProblems, parseNotificationHeaders, RegistryNotificationEndpointArgs,
} from "../../components/notifications";
import { PrivateRegistry } from "../../components/privateRegistry";
import {
    caCertificateProblem, pullThroughCacheProblems, pullThroughCacheStackConfigProblems, RegistryPullThroughCacheArgs,
} from "../../components/pullThroughCache";
import { extraCaEnv, renderRegistryConfig } from "../../components/registryConfig";
import { RegistryServer } from "../../components/server";
import { registryFilesDigest, registryUploads } from "../../components/serverFiles";
import { evaluateProgram } from "./support/program";

const key = (field: string) => `private-registry:${field}`;

/** A CA certificate and a leaf certificate, made by openssl. */
function certificates(): { ca: string; leaf: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cache-unit-"));
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    try {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "1", "-subj", "/CN=unit-ca", "-addext", "basicConstraints=critical,CA:TRUE");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.crt",
            "-days", "1", "-subj", "/CN=leaf", "-addext", "basicConstraints=critical,CA:FALSE");
        return { ca: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), leaf: fs.readFileSync(path.join(dir, "leaf.crt"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
const { ca, leaf } = certificates();

const endpoint: RegistryNotificationEndpointArgs = {
    name: "scanner",
    url: "https://scanner.example.com/events",
    headers: { Authorization: "Bearer s3cret" },
    timeout: "3s",
    threshold: 4,
    backoff: "30s",
    ignoredMediaTypes: ["application/octet-stream"],
    ignoredActions: ["pull"],
};
const ownRegistry = { hostnames: ["registry.example.com"], ipAddresses: ["203.0.113.10"], port: 5000 };

describe("rendered config.yml", () => {
    const plain = YAML.parse(renderRegistryConfig({ httpSecret: "x" }));

    it("has neither section unless asked", () => {
        expect(plain.notifications).toBeUndefined();
        expect(plain.proxy).toBeUndefined();
        expect(YAML.parse(renderRegistryConfig({ httpSecret: "x", notificationEndpoints: [] })).notifications).toBeUndefined();
    });

    it("renders an endpoint with every delivery setting, a list of values per header", () => {
        const parsed = YAML.parse(renderRegistryConfig({ httpSecret: "x", notificationEndpoints: [endpoint as never] }));
        expect(parsed.notifications).toEqual({
            endpoints: [{
                name: "scanner",
                url: "https://scanner.example.com/events",
                headers: { Authorization: ["Bearer s3cret"] },
                timeout: "3s",
                threshold: 4,
                backoff: "30s",
                ignoredmediatypes: ["application/octet-stream"],
                ignore: { actions: ["pull"] },
            }],
        });
    });

    it("fills in delivery defaults and leaves out an empty ignore", () => {
        const parsed = YAML.parse(renderRegistryConfig({ httpSecret: "x", notificationEndpoints: [{ name: "a", url: "http://10.0.0.5:8080/" }] }));
        expect(parsed.notifications.endpoints[0]).toEqual({
            name: "a", url: "http://10.0.0.5:8080/", headers: {}, timeout: "5s", threshold: 5, backoff: "10s", ignoredmediatypes: [],
        });
    });

    it("renders the proxy section, with credentials only when there are some", () => {
        expect(YAML.parse(renderRegistryConfig({ httpSecret: "x", pullThroughCache: { remoteUrl: "https://registry-1.docker.io" } })).proxy)
            .toEqual({ remoteurl: "https://registry-1.docker.io" });
        expect(YAML.parse(renderRegistryConfig({ httpSecret: "x", pullThroughCache: { remoteUrl: "https://up.example.com", username: "u", password: "p: #w" } })).proxy)
            .toEqual({ remoteurl: "https://up.example.com", username: "u", password: "p: #w" });
    });

    it("keeps the rest of the config as it was", () => {
        const both = YAML.parse(renderRegistryConfig({ httpSecret: "x", notificationEndpoints: [endpoint as never], pullThroughCache: { remoteUrl: "https://u.example.com" } }));
        const { notifications: _n, proxy: _p, ...rest } = both;
        expect(rest).toEqual(plain);
    });
});

describe("the upstream's CA in the config volume", () => {
    const files = { configYaml: "c", htpasswd: "h", certificatePem: "crt", keyPem: "key" };

    it("is uploaded into a directory of its own, readable, and only when given", () => {
        expect(registryUploads(files, 1000, 1000).map((u) => u.file)).toEqual(["/config/config.yml", "/config/htpasswd", "/config/server.crt", "/config/server.key"]);
        const withCa = registryUploads({ ...files, upstreamCaPem: ca }, 1000, 1000);
        expect(withCa[4]).toEqual({ file: "/config/upstream-ca/ca.crt", content: ca, permissions: "0444", owner: "1000", group: "1000" });
    });

    it("changes the files digest, while registries without one keep theirs", () => {
        expect(registryFilesDigest({ ...files, upstreamCaPem: undefined })).toBe(registryFilesDigest(files));
        expect(registryFilesDigest({ ...files, upstreamCaPem: ca })).not.toBe(registryFilesDigest(files));
    });

    it("is trusted besides the system's CAs", () => {
        expect(extraCaEnv("/etc/distribution", ["upstream-ca"])).toEqual(["SSL_CERT_DIR=/etc/ssl/certs:/etc/distribution/upstream-ca"]);
        expect(extraCaEnv("/etc/distribution", ["upstream-ca", "storage-ca"])).toEqual(["SSL_CERT_DIR=/etc/ssl/certs:/etc/distribution/upstream-ca:/etc/distribution/storage-ca"]);
        expect(extraCaEnv("/etc/distribution", [])).toEqual([]);
    });
});

describe("notification endpoint validation", () => {
    it("accepts good endpoints", () => {
        expect(notificationEndpointProblems([endpoint, { name: "b", url: "http://10.0.0.5:8080/hook" }])).toEqual([]);
    });

    const cases: Array<[string, Partial<RegistryNotificationEndpointArgs>, string, RegExp]> = [
        ["a bad name", { name: "a b" }, "notificationEndpoints[0].name", /"a b" is not a name/],
        ["an ftp URL", { url: "ftp://x.example/" }, "notificationEndpoints[0].url", /neither https nor http/],
        ["not a URL", { url: "scanner" }, "notificationEndpoints[0].url", /"scanner" is not a URL/],
        ["credentials in the URL", { url: "https://u:p@x.example/" }, "notificationEndpoints[0].url", /^the URL carries credentials$/],
        ["a timeout without unit", { timeout: "5" }, "notificationEndpoints[0].timeout", /"5" is not a positive Go duration/],
        ["a zero backoff", { backoff: "0s" }, "notificationEndpoints[0].backoff", /"0s" is not a positive Go duration/],
        ["threshold 0", { threshold: 0 }, "notificationEndpoints[0].threshold", /0 is not a positive whole number/],
        ["a bad media type", { ignoredMediaTypes: ["octet"] }, "notificationEndpoints[0].ignoredMediaTypes[0]", /"octet" is not a media type/],
        ["an unknown action", { ignoredActions: ["mount"] }, "notificationEndpoints[0].ignoredActions[0]", /"mount" is not one of pull, push, delete/],
        ["a header name with a space", { headers: { "X Token": "v" } }, "notificationEndpoints[0].headers", /"X Token" is not an HTTP header name/],
        ["a header value with a line break", { headers: { "X-Token": "a\r\nInjected: 1" } }, "notificationEndpoints[0].headers", /value of header "X-Token" is empty, not a string, or has a line break/],
    ];
    it.each(cases)("refuses %s, naming the field", (_, change, field, message) => {
        const problems = notificationEndpointProblems([{ ...endpoint, ...change }]);
        expect(problems).toHaveLength(1);
        expect(problems[0][0]).toBe(field);
        expect(problems[0][1]).toMatch(message);
    });

    it("never quotes a header value", () => {
        const problems = notificationEndpointProblems([{ ...endpoint, headers: { "Bad Name": "Bearer top-secret\n" } }]);
        expect(JSON.stringify(problems)).not.toContain("top-secret");
        expect(problems).toHaveLength(2);
    });

    it("refuses two endpoints with one name", () => {
        expect(notificationEndpointProblems([endpoint, endpoint]).map((p) => p[0])).toEqual(["notificationEndpoints[1].name"]);
    });

    it("leaves header values that are still outputs to the registry", () => {
        expect(notificationEndpointProblems([{ ...endpoint, headers: pulumi.secret({ "Bad Name": "x" }) }])).toEqual([]);
    });
});

describe("pull-through cache validation", () => {
    const cache: RegistryPullThroughCacheArgs = { remoteUrl: "https://upstream.example.com:5000", username: "reader", password: "pw", caCertPem: ca };

    it("accepts a cache of a private upstream and an anonymous one of Docker Hub", () => {
        expect(pullThroughCacheProblems(cache, ownRegistry)).toEqual([]);
        expect(pullThroughCacheProblems({ remoteUrl: "https://registry-1.docker.io" }, ownRegistry)).toEqual([]);
        expect(pullThroughCacheProblems(undefined, ownRegistry)).toEqual([]);
    });

    const cases: Array<[string, Partial<RegistryPullThroughCacheArgs>, string, RegExp]> = [
        ["plain http", { remoteUrl: "http://upstream.example.com" }, "pullThroughCache.remoteUrl", /is not https, so upstream credentials and images would cross the network unprotected/],
        ["not a URL", { remoteUrl: "upstream.example.com" }, "pullThroughCache.remoteUrl", /is not a URL/],
        ["a path", { remoteUrl: "https://upstream.example.com/v2/library" }, "pullThroughCache.remoteUrl", /has a path, query or fragment/],
        ["credentials in the URL", { remoteUrl: "https://u:p@upstream.example.com" }, "pullThroughCache.remoteUrl", /carries credentials/],
        ["itself, by name", { remoteUrl: "https://registry.example.com:5000" }, "pullThroughCache.remoteUrl", /is this registry itself/],
        ["itself, by loopback", { remoteUrl: "https://127.0.0.1:5000" }, "pullThroughCache.remoteUrl", /is this registry itself/],
        ["a user without password", { password: undefined }, "pullThroughCache.password", /username and password go together/],
        ["a password without user", { username: undefined }, "pullThroughCache.username", /username and password go together/],
        ["a leaf certificate as CA", { caCertPem: leaf }, "pullThroughCache.caCertPem", /not a CA's/],
        ["garbage as CA", { caCertPem: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" }, "pullThroughCache.caCertPem", /is not a PEM certificate/],
    ];
    it.each(cases)("refuses %s", (_, change, field, message) => {
        const problems = pullThroughCacheProblems({ ...cache, ...change }, ownRegistry);
        expect(problems.map((p) => p[0])).toEqual([field]);
        expect(problems[0][1]).toMatch(message);
    });

    it("accepts the registry's own name on another port (another registry on the host)", () => {
        expect(pullThroughCacheProblems({ ...cache, remoteUrl: "https://registry.example.com:5001" }, ownRegistry)).toEqual([]);
    });

    it("refuses a notification endpoint that would only hear pushes, which a cache never accepts", () => {
        const problems = pullThroughCacheProblems(cache, { ...ownRegistry, notificationEndpoints: [{ name: "scanner", ignoredActions: ["pull"] }] });
        expect(problems).toEqual([["notificationEndpoints[0].ignoredActions", expect.stringMatching(/ignores pulls, and a pull-through cache accepts no pushes or deletes/), expect.any(String)]]);
        expect(pullThroughCacheProblems(cache, { ...ownRegistry, notificationEndpoints: [{ name: "audit", ignoredActions: ["push"] }] })).toEqual([]);
    });

    it("tells a CA from a leaf", () => {
        expect(caCertificateProblem(ca)).toBeUndefined();
        expect(caCertificateProblem(leaf)).toMatch(/not a CA's/);
    });
});

describe("stack keys", () => {
    const notification = {
        notificationUrl: "https://scanner.example.com/events", notificationTimeout: "5s", notificationThreshold: 5, notificationBackoff: "10s",
        notificationIgnoredMediaTypes: [] as string[], notificationIgnoredActions: [] as string[],
    };
    const cache = { proxyRemoteUrl: "https://upstream.example.com", proxyUsername: "reader", proxyCaCertPem: ca };

    it("name the stack key and the fix, and never quote secrets", () => {
        expect(notificationStackConfigProblems(notification, '{"Authorization":"Bearer x"}', key)).toEqual([]);
        expect(notificationStackConfigProblems({ ...notification, notificationTimeout: "soon" }, undefined, key)).toEqual([
            'private-registry:notificationTimeout: "soon" is not a positive Go duration. Fix: use e.g. "5s"',
        ]);
        expect(notificationStackConfigProblems({ ...notification, notificationIgnoredActions: ["push", "tag"] }, undefined, key)).toEqual([
            'private-registry:notificationIgnoredActions[1]: "tag" is not one of pull, push, delete. Fix: list only pull, push or delete',
        ]);
        const bad = notificationStackConfigProblems(notification, "Bearer leaked", key);
        expect(bad).toEqual([expect.stringMatching(/^private-registry:notificationHeaders: is not a JSON object of header names and values\. Fix: pulumi config set --secret/)]);
        expect(bad.join()).not.toContain("leaked");
        expect(notificationStackConfigProblems({ ...notification, notificationUrl: "" }, '{"A":"b"}', key)).toEqual([
            expect.stringMatching(/^private-registry:notificationHeaders: is set, but notificationUrl is empty/),
        ]);
        expect(parseNotificationHeaders('{"A":"b"}')).toEqual({ A: "b" });
        expect(parseNotificationHeaders("[1]")).toBeUndefined();
    });

    it("check the cache keys against the registry's own", () => {
        expect(pullThroughCacheStackConfigProblems(cache, "pw", ownRegistry, key)).toEqual([]);
        expect(pullThroughCacheStackConfigProblems(cache, undefined, ownRegistry, key)).toEqual([
            "private-registry:proxyPassword: upstream username and password go together. Fix: give both, or neither for anonymous pulls",
        ]);
        expect(pullThroughCacheStackConfigProblems({ ...cache, proxyRemoteUrl: "" }, "pw", ownRegistry, key)).toEqual([
            expect.stringMatching(/^private-registry:proxyUsername: is set, but proxyRemoteUrl is empty/),
            expect.stringMatching(/^private-registry:proxyPassword: is set, but proxyRemoteUrl is empty/),
            expect.stringMatching(/^private-registry:proxyCaCertPem: is set, but proxyRemoteUrl is empty/),
        ]);
        const pushOnly = pullThroughCacheStackConfigProblems(cache, "pw", { ...ownRegistry, notificationEndpoints: [{ name: "stack", ignoredActions: ["pull"] }] }, key);
        expect(pushOnly).toEqual([expect.stringMatching(/^private-registry:notificationIgnoredActions: endpoint "stack" ignores pulls/)]);
    });
});

describe("the program with the stack keys", () => {
    const uploads = (program: Awaited<ReturnType<typeof evaluateProgram>>) => {
        const init = program.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-server-init"))!;
        return Object.fromEntries((init.inputs.uploads as { file: string; content: string }[]).map((u) => [u.file, u.content]));
    };

    it("renders the stack's endpoint and cache into config.yml, and the CA beside it", async () => {
        const program = await evaluateProgram({
            stack: "dev",
            config: {
                "private-registry:notificationUrl": "https://scanner.example.com/events",
                "private-registry:notificationHeaders": '{"Authorization":"Bearer s3cret"}',
                "private-registry:notificationIgnoredMediaTypes": ["application/octet-stream"],
                "private-registry:proxyRemoteUrl": "https://upstream.example.com",
                "private-registry:proxyUsername": "reader",
                "private-registry:proxyPassword": "upstream-pw",
                "private-registry:proxyCaCertPem": ca,
                "private-registry:maintenanceEnabled": false,
            },
        });
        const files = uploads(program);
        const config = YAML.parse(files["/config/config.yml"]);
        expect(config.notifications.endpoints).toEqual([expect.objectContaining({
            name: "stack", url: "https://scanner.example.com/events", headers: { Authorization: ["Bearer s3cret"] }, ignoredmediatypes: ["application/octet-stream"],
        })]);
        expect(config.proxy).toEqual({ remoteurl: "https://upstream.example.com", username: "reader", password: "upstream-pw" });
        expect(files["/config/upstream-ca/ca.crt"]).toBe(ca);
        const container = program.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-server-container"))!;
        expect(container.inputs.envs).toContain("SSL_CERT_DIR=/etc/ssl/certs:/etc/distribution/upstream-ca");
        expect(JSON.stringify(container.inputs)).not.toMatch(/s3cret|upstream-pw/);
    });

    it("changes nothing for a stack that sets none of the keys", async () => {
        const config = YAML.parse(uploads(await evaluateProgram({ stack: "dev" }))["/config/config.yml"]);
        expect(config.notifications).toBeUndefined();
        expect(config.proxy).toBeUndefined();
    });

    it.each([
        ["an http upstream", { "private-registry:proxyRemoteUrl": "http://upstream.example.com" }, /private-registry:proxyRemoteUrl: .*is not https/],
        ["a cache whose endpoint only waits for pushes", {
            "private-registry:proxyRemoteUrl": "https://upstream.example.com",
            "private-registry:notificationUrl": "https://scanner.example.com/events",
            "private-registry:notificationIgnoredActions": ["pull"],
        }, /private-registry:notificationIgnoredActions: endpoint "stack" ignores pulls, and a pull-through cache accepts no pushes/],
        ["a cache with maintenance windows", { "private-registry:proxyRemoteUrl": "https://upstream.example.com" },
            /private-registry:maintenanceEnabled: is on, but a pull-through cache expires its own blobs/],
        ["a notification URL with credentials", { "private-registry:notificationUrl": "https://u:p@scanner.example.com/" }, /private-registry:notificationUrl: the URL carries credentials/],
    ])("refuses %s before registering anything", async (_, config, message) => {
        let registered = -1;
        await expect(evaluateProgram({ stack: "dev", config, preview: true }).catch((err) => {
            registered = (err as { registered?: number }).registered ?? 0;
            throw err;
        })).rejects.toThrow(message);
        expect(registered).toBe(0);
    });
});

describe("secrecy of header values and the upstream password", () => {
    interface Raw { type: string; name: string; inputs: Record<string, unknown> }
    const raw: Raw[] = [];
    const secretSig = "4dabf18193072939515e22adb298388d";
    /** The inputs as JSON with every secret subtree blanked. */
    const visible = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(visible);
        if (value && typeof value === "object") {
            if (secretSig in value) return "[secret]";
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visible(v)]));
        }
        return value;
    };
    /** What providers would compute, enough for the components to render their files. */
    const mockOutputs = (type: string, inputs: Record<string, any>): Record<string, unknown> => {
        const pem = (kind: string) => `-----BEGIN ${kind}-----\nAAAA\n-----END ${kind}-----\n`;
        switch (type) {
            case "random:index/randomPassword:RandomPassword": return { result: "r".repeat(inputs.length ?? 16) };
            case "random:index/randomBytes:RandomBytes": return { base64: Buffer.alloc(inputs.length).toString("base64"), hex: Buffer.alloc(inputs.length).toString("hex") };
            case "tls:index/privateKey:PrivateKey": return { privateKeyPem: pem("PRIVATE KEY") };
            case "tls:index/certRequest:CertRequest": return { certRequestPem: pem("CERTIFICATE REQUEST") };
            case "tls:index/selfSignedCert:SelfSignedCert":
            case "tls:index/locallySignedCert:LocallySignedCert": return { certPem: pem("CERTIFICATE") };
            case "docker:index/remoteImage:RemoteImage": return { imageId: "sha256:00" };
            default: return {};
        }
    };
    const isSecretValue = (value: unknown) => !!value && typeof value === "object" && secretSig in value;

    beforeAll(async () => {
        await pulumi.runtime.setMocks({
            newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...mockOutputs(args.type, args.inputs) } }),
            call: () => ({}),
        }, "private-registry", "secrecy");
        const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: any) => void };
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            raw.push({ type: req.getType(), name: req.getName(), inputs: pulumi.runtime.deserializeProperties(req.getObject()) });
            return register(req, callback);
        };
        new PrivateRegistry("sec", {
            hostnames: ["registry.example.com"],
            users: ["admin"],
            notificationEndpoints: [{ name: "scanner", url: "https://scanner.example.com/", headers: pulumi.secret({ Authorization: "Bearer header-secret" }) }],
            pullThroughCache: { remoteUrl: "https://upstream.example.com", username: "reader", password: pulumi.secret("password-secret"), caCertPem: ca },
            maintenanceEnabled: false,
        });
        await new Promise((r) => setTimeout(r, 500));
    });

    it("shows them in no resource input outside a secret", () => {
        expect(raw.length).toBeGreaterThan(5);
        for (const r of raw) {
            expect({ resource: r.name, leaked: /header-secret|password-secret/.test(JSON.stringify(visible(r.inputs))) }).toEqual({ resource: r.name, leaked: false });
        }
    });

    it("hands them to the init container as secret uploads, and the files digest label as a secret", () => {
        const init = raw.find((r) => r.name === "sec-server-init")!;
        expect(isSecretValue(init.inputs.uploads)).toBe(true);
        expect(JSON.stringify(init.inputs.uploads)).toContain("header-secret");
        expect(JSON.stringify(init.inputs.uploads)).toContain("password-secret");
        const container = raw.find((r) => r.name === "sec-server-container")!;
        const labels = container.inputs.labels;
        const digest = isSecretValue(labels) ? labels : (labels as { label: string; value: unknown }[]).find((l) => l.label === "private-registry.files-sha256")!.value;
        expect(isSecretValue(digest)).toBe(true);
    });

    it("refuses bad component args before registering anything", () => {
        const before = raw.length;
        expect(() => new PrivateRegistry("bad", {
            hostnames: ["registry.example.com"],
            users: ["admin"],
            notificationEndpoints: [{ name: "x", url: "ftp://scanner.example.com/" }],
            pullThroughCache: { remoteUrl: "http://upstream.example.com" },
            maintenanceEnabled: false,
        })).toThrow(/PrivateRegistryArgs\.notificationEndpoints\[0\]\.url: .*neither https nor http[\s\S]*PrivateRegistryArgs\.pullThroughCache\.remoteUrl: .*not https/);
        expect(raw.length).toBe(before);
        expect(() => new RegistryServer("bad-server", {
            image: "registry:2.8.3@sha256:" + "0".repeat(64), dataVolumeName: "d", htpasswd: "h", tlsCertPem: "c", tlsKeyPem: "k",
            notificationEndpoints: [{ name: "x", url: "https://scanner.example.com/", threshold: -1 }],
            pullThroughCache: { remoteUrl: "https://localhost:5000" },
        })).toThrow(/RegistryServerArgs\.notificationEndpoints\[0\]\.threshold: -1[\s\S]*RegistryServerArgs\.pullThroughCache\.remoteUrl: .*is this registry itself/);
        expect(raw.length).toBe(before);
    });
});
