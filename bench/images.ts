/**
 * Test images of random data, made without a build: a docker-archive (the `docker save` layout)
 * is streamed straight into `docker load`. Each layer is one file of random bytes, so nothing
 * compresses and every push really uploads and every pull really downloads its size.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import { Writable } from "stream";
import { runOk } from "./exec";

export interface TestImageSpec {
    /** Local name:tag the image is loaded as. */
    readonly tag: string;
    readonly layers: number;
    readonly bytesPerLayer: number;
}

export interface TestImage extends TestImageSpec {
    /** sha256:… image ID (the config digest). */
    readonly id: string;
    /** Uncompressed size of all layer tars. */
    readonly totalBytes: number;
    /** Milliseconds to generate and load it. */
    readonly loadMs: number;
}

const block = 512;

function octal(value: number, width: number): string {
    return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** One ustar header: a regular file ("0") or a directory ("5"). */
function tarHeader(name: string, size: number, type: "0" | "5"): Buffer {
    if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
    const h = Buffer.alloc(block, 0);
    h.write(name, 0, 100, "utf8");
    h.write(octal(type === "5" ? 0o755 : 0o644, 8), 100, "ascii");
    h.write(octal(0, 8), 108, "ascii");
    h.write(octal(0, 8), 116, "ascii");
    h.write(octal(size, 12), 124, "ascii");
    h.write(octal(1_700_000_000, 12), 136, "ascii");
    h.write("        ", 148, "ascii");
    h.write(type, 156, "ascii");
    h.write("ustar\0", 257, "ascii");
    h.write("00", 263, "ascii");
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
    return h;
}

function padding(size: number): Buffer {
    const rest = size % block;
    return Buffer.alloc(rest === 0 ? 0 : block - rest, 0);
}

/** Size of a layer tar holding one directory and one file of `bytes` bytes. */
function layerTarSize(bytes: number): number {
    return block + block + Math.ceil(bytes / block) * block + 2 * block;
}

class Sink {
    constructor(private readonly out: Writable) {}

    async write(chunk: Buffer): Promise<void> {
        if (!this.out.write(chunk)) {
            await new Promise<void>((resolve, reject) => {
                const onDrain = () => { this.out.off("error", onError); resolve(); };
                const onError = (err: Error) => { this.out.off("drain", onDrain); reject(err); };
                this.out.once("drain", onDrain);
                this.out.once("error", onError);
            });
        }
    }
}

/** Writes one layer tar (as an entry of the outer archive) and returns its sha256 (the diff ID). */
async function writeLayer(sink: Sink, entryName: string, index: number, bytes: number): Promise<string> {
    const hash = crypto.createHash("sha256");
    const layerSize = layerTarSize(bytes);
    await sink.write(tarHeader(entryName, layerSize, "0"));
    const put = async (b: Buffer) => { hash.update(b); await sink.write(b); };
    await put(tarHeader("bench/", 0, "5"));
    await put(tarHeader(`bench/layer-${String(index).padStart(3, "0")}.bin`, bytes, "0"));
    const chunkSize = 1 << 20;
    for (let done = 0; done < bytes; done += chunkSize) {
        const chunk = crypto.randomFillSync(Buffer.allocUnsafe(Math.min(chunkSize, bytes - done)));
        await put(chunk);
    }
    await put(padding(bytes));
    await put(Buffer.alloc(2 * block, 0));
    await sink.write(padding(layerSize));
    return `sha256:${hash.digest("hex")}`;
}

async function writeFile(sink: Sink, name: string, content: string): Promise<void> {
    const body = Buffer.from(content, "utf8");
    await sink.write(tarHeader(name, body.length, "0"));
    await sink.write(body);
    await sink.write(padding(body.length));
}

/** Generates the image's archive into `docker load`'s stdin. */
export async function loadTestImage(spec: TestImageSpec): Promise<TestImage> {
    const started = Date.now();
    const child = spawn("docker", ["load", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => { out += d; });
    child.stderr.setEncoding("utf8").on("data", (d: string) => { out += d; });
    const exited = new Promise<number>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve(code ?? 1));
    });
    const sink = new Sink(child.stdin);
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    try {
        for (let i = 0; i < spec.layers; i++) {
            const entry = `layer${String(i).padStart(3, "0")}/layer.tar`;
            diffIds.push(await writeLayer(sink, entry, i, spec.bytesPerLayer));
            layerPaths.push(entry);
        }
        const created = "2024-01-01T00:00:00Z";
        const config = JSON.stringify({
            architecture: "amd64",
            os: "linux",
            created,
            config: { Cmd: ["/bench/none"], Labels: { "private-registry.bench": "test-image" } },
            rootfs: { type: "layers", diff_ids: diffIds },
            history: diffIds.map((_, i) => ({ created, created_by: `bench: random layer ${i}` })),
        });
        const configName = `${crypto.createHash("sha256").update(config).digest("hex")}.json`;
        await writeFile(sink, configName, config);
        await writeFile(sink, "manifest.json", JSON.stringify([{ Config: configName, RepoTags: [spec.tag], Layers: layerPaths }]));
        await sink.write(Buffer.alloc(2 * block, 0));
    } finally {
        child.stdin.end();
    }
    const code = await exited;
    if (code !== 0) throw new Error(`docker load of ${spec.tag} failed: ${out.trim()}`);
    const id = (await runOk("docker", ["image", "inspect", "--format", "{{.Id}}", spec.tag])).stdout.trim();
    return {
        ...spec,
        id,
        totalBytes: spec.layers * spec.bytesPerLayer,
        loadMs: Date.now() - started,
    };
}
