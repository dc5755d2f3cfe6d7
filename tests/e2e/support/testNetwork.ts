import * as fs from "fs";
import { runOk, run } from "./shell";

const hostsFile = "/etc/hosts";

/**
 * A test interface: a veth pair whose far end lives in a network namespace the test owns. The near
 * end's address is a non-loopback address of this host (Docker verifies TLS for it, unlike 127.0.0.0/8),
 * and a hosts-file entry makes the registry's test name resolve to it.
 */
export class TestNetwork {
    readonly namespace: string;
    readonly hostInterface: string;
    readonly peerInterface: string;
    private readonly hostsMarker: string;

    constructor(readonly prefix: string, readonly hostAddress: string, readonly peerAddress: string, readonly hostnames: string[]) {
        this.namespace = `${prefix}-ns`;
        this.hostInterface = `${prefix}-h`;
        this.peerInterface = `${prefix}-p`;
        this.hostsMarker = `# ${prefix} test entry`;
    }

    create(): void {
        this.destroy();
        runOk(`ip netns add ${this.namespace}`);
        runOk(`ip link add ${this.hostInterface} type veth peer name ${this.peerInterface}`);
        runOk(`ip link set ${this.peerInterface} netns ${this.namespace}`);
        runOk(`ip addr add ${this.hostAddress}/24 dev ${this.hostInterface} && ip link set ${this.hostInterface} up`);
        runOk(`ip netns exec ${this.namespace} sh -c 'ip addr add ${this.peerAddress}/24 dev ${this.peerInterface} && ip link set ${this.peerInterface} up && ip link set lo up'`);
        fs.appendFileSync(hostsFile, `${this.hostAddress} ${this.hostnames.join(" ")} ${this.hostsMarker}\n`);
    }

    /** Safe to call any number of times, whatever state a failed test left. */
    destroy(): void {
        const hosts = fs.readFileSync(hostsFile, "utf8");
        if (hosts.includes(this.hostsMarker)) {
            // Rewrite in place: /etc/hosts may be a bind mount that can't be replaced by rename.
            fs.writeFileSync(hostsFile, hosts.split("\n").filter((l) => !l.includes(this.hostsMarker)).join("\n"));
        }
        run(`ip link del ${this.hostInterface} 2>/dev/null`);
        run(`ip netns del ${this.namespace} 2>/dev/null`);
    }
}
