import * as pulumi from "@pulumi/pulumi";

/** A component's dependsOn doesn't hold its children back by itself; the container needs it. */
export function componentDependencies(component: string, opts?: pulumi.ComponentResourceOptions): pulumi.Resource[] {
    const dependsOn = opts?.dependsOn;
    if (dependsOn === undefined) return [];
    if (pulumi.Output.isInstance(dependsOn) || (Array.isArray(dependsOn) && dependsOn.some((d) => !pulumi.Resource.isInstance(d)))) {
        throw new Error(`${component}: pass dependsOn as resources, not outputs`);
    }
    return Array.isArray(dependsOn) ? dependsOn as pulumi.Resource[] : [dependsOn as pulumi.Resource];
}
