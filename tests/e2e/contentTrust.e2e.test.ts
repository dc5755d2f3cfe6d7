/**
 * Docker Content Trust on the dev stack (auth: token, contentTrust: true), applied for real by the
 * local apply harness: the docker CLIs sign on push and verify on pull against the stack's Notary
 * (server, signer, PostgreSQL), which the token service guards. The registry has a name outside
 * 127.0.0.0/8, so Docker verifies TLS to it and to Notary.
 */
import * as fs from "fs";
import * as path from "path";
import { dockerClient, DockerClient, dockerClis } from "./support/dockerClients";
import { buildRandomImage } from "./support/images";
import { E2eStackSession, LocalStack, StackOutputs } from "./support/localStack";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const registryName = "trust.e2e.test";
const network = new TestNetwork("ntye2e", "10.252.9.1", "10.252.9.2", [registryName]);
const endpoint = `${registryName}:5000`;
const repo = `${endpoint}/team-a/app`;
const stack = new LocalStack("dev", {
    hostnames: `[${registryName}, localhost]`,
    ipAddresses: `[${network.hostAddress}, 127.0.0.1]`,
    clientTrustLocal: "true",
    users: "[alice, bob, ci]",
    auth: "token",
    contentTrust: "true",
    accessRules: JSON.stringify({
        groups: { "team-a": ["alice"], "team-b": ["bob"] },
        rules: [
            { groups: ["team-a"], repositories: ["team-a/**"], actions: ["*"] },
            { groups: ["team-b"], repositories: ["team-b/**"], actions: ["*"] },
            { users: ["ci"], repositories: ["team-a/**"], actions: ["pull", "push"] },
        ],
    }),
});

interface TrustOutputs extends StackOutputs { notaryEndpoint: string; tokenRealm: string }
const session = new E2eStackSession<TrustOutputs>(stack, network, registryName, endpoint, "trust-e2e-");
let outputs: TrustOutputs;
let work: string;
let caFile: string;
const passphrases = { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: "root-passphrase-e2e", DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "repo-passphrase-e2e" };

/** A docker CLI with content trust on, Notary's CA where the CLI looks for it, logged in as `user`. */
function trustingClient(cli: string, configName: string, user: string, extraEnv: NodeJS.ProcessEnv = {}): DockerClient {
    const client = dockerClient(cli, work, configName, {
        DOCKER_CONTENT_TRUST: "1", DOCKER_CONTENT_TRUST_SERVER: `https://${outputs.notaryEndpoint}`, ...passphrases, ...extraEnv,
    });
    fs.mkdirSync(path.join(client.configDir, "tls", outputs.notaryEndpoint), { recursive: true });
    fs.copyFileSync(caFile, path.join(client.configDir, "tls", outputs.notaryEndpoint, "ca.crt"));
    client.ok(`login ${endpoint} --username ${user} --password-stdin`, outputs.credentials[user]);
    return client;
}
const out = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;
/** The Notary server's status for a request, with no credentials. */
const notaryStatus = (method: string, urlPath: string) =>
    runOk(`curl -s -o /dev/null -w '%{http_code}' --cacert ${caFile} -X ${method} 'https://${outputs.notaryEndpoint}${urlPath}'`).trim();

beforeAll(() => {
    session.setUp();
    ({ outputs, work, caFile } = session);
});

afterAll(() => {
    try {
        session.tearDown();
    } finally {
        // The database volume is protected and retained where protectData is on (it holds the signer's keys).
        run("docker volume rm registry-dev-notary-db-data");
    }
});

describe("Docker Content Trust", () => {
    it("runs Notary on its port, hardened, with the signer's passphrase in no container's configuration", () => {
        expect(outputs.notaryEndpoint).toBe(`${registryName}:4443`);
        for (const container of ["registry-dev-notary-server", "registry-dev-notary-signer", "registry-dev-notary-db"]) {
            expect(runOk(`docker inspect -f '{{.State.Running}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}' ${container}`).trim()).toBe("true true [ALL]");
            expect(runOk(`docker inspect -f '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}' ${container}`)).not.toMatch(/NOTARY_SIGNER_|PASSWORD=/);
        }
        // The database is on Notary's own network only, and published nowhere.
        expect(runOk("docker port registry-dev-notary-db").trim()).toBe("");
        expect(runOk("curl -s --cacert " + caFile + ` https://${outputs.notaryEndpoint}/_notary_server/health`).trim()).toBe("{}");
    });

    it("DOCKER_CONTENT_TRUST=1 docker push signs (docker 28)", () => {
        const alice = trustingClient(dockerClis.docker28, "alice", "alice");
        buildRandomImage(`${repo}:signed`, { layer: 65536 }, work, alice.env);
        const pushed = alice.run(`push ${repo}:signed`);
        expect(out(pushed)).toMatch(/Successfully signed .*team-a\/app:signed/);
        expect(pushed.code).toBe(0);
        expect(fs.readdirSync(path.join(alice.configDir, "trust", "private")).filter((f) => f.endsWith(".key")).length).toBeGreaterThanOrEqual(2);
    });

    it("a pull with content trust of the signed tag works, and of an unsigned tag is refused (docker 20.10)", () => {
        const alice = dockerClient(dockerClis.docker28, work, "alice");
        buildRandomImage(`${repo}:unsigned`, { layer: 65536 }, work, alice.env);
        alice.ok(`push ${repo}:unsigned`);
        run(`docker rmi -f ${repo}:signed ${repo}:unsigned`);
        const verifier = trustingClient(dockerClis.docker2010, "verifier", "alice");
        const signed = verifier.run(`pull ${repo}:signed`);
        expect(out(signed)).toMatch(/Pull \(1 of 1\): .*@sha256:[0-9a-f]{64}/);
        expect(signed.code).toBe(0);
        const unsigned = verifier.run(`pull ${repo}:unsigned`);
        expect(unsigned.code).not.toBe(0);
        expect(out(unsigned)).toMatch(/No valid trust data for unsigned|does not have trust data/);
    });

    it("trust data cannot be read or deleted without credentials, nor by another team", () => {
        const gun = `/v2/${endpoint}/team-a/app/_trust/tuf`;
        expect(notaryStatus("GET", `${gun}/root.json`)).toBe("401");
        expect(notaryStatus("DELETE", `${gun}/`)).toBe("401");
        const bob = trustingClient(dockerClis.docker28, "bob", "bob");
        const pulled = bob.run(`pull ${repo}:signed`);
        expect(pulled.code).not.toBe(0);
        expect(out(pulled)).toMatch(/401|not authorized|unauthorized/i);
    });

    it("trust data survives a restart of the Notary containers", () => {
        runOk("docker restart registry-dev-notary-db registry-dev-notary-signer registry-dev-notary-server");
        const deadline = Date.now() + 60_000;
        while (run(`curl -s -o /dev/null -w '%{http_code}' --cacert ${caFile} https://${outputs.notaryEndpoint}/_notary_server/health`).stdout !== "200") {
            if (Date.now() > deadline) throw new Error("Notary did not come back within 60 s");
            runOk("sleep 0.5");
        }
        run(`docker rmi -f ${repo}:signed`);
        // A fresh DOCKER_CONFIG: no trust data cached from before.
        const fresh = trustingClient(dockerClis.docker28, "after-restart", "alice");
        const pulled = fresh.run(`pull ${repo}:signed`);
        expect(out(pulled)).toMatch(/Pull \(1 of 1\)/);
        expect(pulled.code).toBe(0);
    });

    it("a CI delegation key signs a new tag", () => {
        const alice = trustingClient(dockerClis.docker28, "alice", "alice");
        const keyDir = path.join(work, "ci-key");
        fs.mkdirSync(keyDir);
        const ciEnv = { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "ci-delegation-passphrase" };
        const generated = dockerClient(dockerClis.docker28, work, "ci-keygen", ciEnv).ok(`trust key generate ci --dir ${keyDir}`);
        expect(generated).toMatch(/Successfully generated and loaded private key/);
        expect(alice.ok(`trust signer add --key ${keyDir}/ci.pub ci ${repo}`)).toMatch(/Successfully added signer: ci to/);
        // The CI machine: only the delegation key, copied where the CLI reads private keys.
        const ci = trustingClient(dockerClis.docker28, "ci", "ci", ciEnv);
        fs.mkdirSync(path.join(ci.configDir, "trust", "private"), { recursive: true });
        const keyFile = fs.readdirSync(path.join(work, "ci-keygen", "trust", "private")).find((f) => f.endsWith(".key"))!;
        fs.copyFileSync(path.join(work, "ci-keygen", "trust", "private", keyFile), path.join(ci.configDir, "trust", "private", keyFile));
        buildRandomImage(`${repo}:ci`, { layer: 65536 }, work, ci.env);
        const signed = ci.run(`trust sign ${repo}:ci`);
        expect(out(signed)).toMatch(/Successfully signed .*team-a\/app:ci/);
        expect(signed.code).toBe(0);
        expect(alice.ok(`trust inspect --pretty ${repo}`)).toMatch(/ci\s+\S+\s+ci/);
    });
});
