import { pushPullFigures } from "../../bench/report";
import { PushPullResults } from "../../bench/pushPull";

const image = { layers: 1, bytesPerLayer: 2 ** 30 };

function results(daemon: { stack: number[]; baseline: number[] }): PushPullResults {
    return {
        push: { stack: [40, 44, 42], baseline: [48, 46, 52] },
        pull: { stack: [12, 13, 11], baseline: [12, 12, 13] },
        pushRegistryCpuSeconds: { stack: [8, 9, 9], baseline: [9, 9, 10] },
        pullRegistryCpuSeconds: { stack: [1, 1, 1], baseline: [1, 1, 1] },
        pushDaemonCpuSeconds: daemon,
        pullDaemonCpuSeconds: { stack: [14, 15, 13], baseline: [14, 14, 15] },
    };
}

describe("bench push/pull figures", () => {
    it("takes the client's speed out: equal wall time per daemon CPU second gives a cross-check of 1 whatever the wall-time ratio", () => {
        // Wall time = 1.05 × daemon CPU on both sides; the stack happened to get the faster CPU.
        const f = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [40, 44, 42].map((w) => w / 1.05), baseline: [48, 46, 52].map((w) => w / 1.05) }));
        expect(f.pushSingleLayerImage.ratio).toBeCloseTo(42 / 48, 3);
        expect(f.pushSingleLayerImage.wallPerDaemonCpuSecond).toEqual({ stack: 1.05, baseline: 1.05, ratio: 1 });
    });

    it("shows a registry that keeps the client waiting: more wall time per daemon CPU second", () => {
        const f = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [20, 22, 21], baseline: [48, 46, 52] }));
        expect(f.pushSingleLayerImage.wallPerDaemonCpuSecond!.ratio).toBeCloseTo(2, 1);
    });

    it("leaves the CPU rows out when a run read zero or could not be read, instead of dividing by it", () => {
        const zero = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [40, 0, 42], baseline: [48, 46, 52] }));
        expect(zero.pushSingleLayerImage.dockerDaemonCpuSeconds).toBeUndefined();
        expect(zero.pushSingleLayerImage.wallPerDaemonCpuSecond).toBeUndefined();
        expect(zero.pushSingleLayerImage.registryCpuSeconds).toBeDefined();
        const unread = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [40, NaN, 42], baseline: [48, 46, 52] }));
        expect(unread.pushSingleLayerImage.wallPerDaemonCpuSecond).toBeUndefined();
        expect(unread.pullSingleLayerImage.wallPerDaemonCpuSecond).toBeDefined();
    });
});
