import * as pulumi from "@pulumi/pulumi";

/* eslint-disable @typescript-eslint/no-explicit-any -- the mock monitor and its protobuf requests are untyped internals of the SDK. */

/** What a component registered, with the parent and options that mocks alone don't show. */
export interface Registration {
    type: string;
    name: string;
    parent: string;
    deleteBeforeReplace: boolean;
    inputs: Record<string, any>;
    /** The provider reference it was registered with ("" for the default). */
    provider: string;
    /** URNs it depends on. */
    dependencies: string[];
}

/**
 * Sets Pulumi's mocks (commands answer with empty output; `outputs` adds what a resource type
 * computes) and records every registration into `registrations`, read off the request itself.
 */
export async function recordRegistrations(registrations: Registration[], outputs: (type: string, name: string) => Record<string, unknown> = () => ({})): Promise<void> {
    await pulumi.runtime.setMocks({
        newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: { ...outputs(args.type, args.name), ...args.inputs, stdout: "", stderr: "" } }),
        call: () => ({}),
    }, "private-registry", "test");
    const monitor: any = pulumi.runtime.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        registrations.push({
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            inputs: pulumi.runtime.deserializeProperties(req.getObject()),
            provider: req.getProvider(),
            dependencies: req.getDependenciesList(),
        });
        return register(req, callback);
    };
}
