import * as pulumi from "@pulumi/pulumi";

/* eslint-disable @typescript-eslint/no-explicit-any -- the mock monitor and its protobuf requests are untyped internals of the SDK. */

/** What a component registered, with the parent and options that mocks alone don't show. */
export interface Registration {
    type: string;
    name: string;
    parent: string;
    deleteBeforeReplace: boolean;
    inputs: Record<string, any>;
}

/**
 * Sets Pulumi's mocks (commands answer with empty output) and records every registration into
 * `registrations`, read off the request itself.
 */
export async function recordRegistrations(registrations: Registration[]): Promise<void> {
    await pulumi.runtime.setMocks({
        newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, stdout: "", stderr: "" } }),
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
        });
        return register(req, callback);
    };
}
