/**
 * How the pack recognises the components' resources. Stacks in other projects use the components
 * under their own project and stack names, so only the type tokens are relied on: a URN carries
 * the types of all its ancestors, e.g.
 * `urn:pulumi:prod::infra::private-registry:index:PrivateRegistry$private-registry:index:RegistryServer$docker:index/container:Container::registry-server-container`.
 */

/** Type tokens of the components (stable across projects). */
export const componentTypes = {
    privateRegistry: "private-registry:index:PrivateRegistry",
    server: "private-registry:index:RegistryServer",
    storage: "private-registry:index:RegistryStorage",
    firewall: "private-registry:index:RegistryFirewall",
} as const;

/** Type tokens of the provider resources the components declare. */
export const resourceTypes = {
    remoteImage: "docker:index/remoteImage:RemoteImage",
    container: "docker:index/container:Container",
    volume: "docker:index/volume:Volume",
    localCommand: "command:local:Command",
    remoteCommand: "command:remote:Command",
} as const;

/** Port of the registry's debug server (health and Prometheus metrics) inside its container. */
export const registryDebugPort = 5001;

/** The type chain of a URN: the ancestors' types, outermost first, then the resource's own type. */
export function urnTypeChain(urn: string): string[] {
    const parts = urn.split("::");
    return parts.length >= 4 ? parts[2].split("$") : [];
}

/** True when the resource is `type` and some ancestor in its URN is `componentType`. */
export function isWithin(urn: string, type: string, componentType: string): boolean {
    const chain = urnTypeChain(urn);
    return chain[chain.length - 1] === type && chain.slice(0, -1).includes(componentType);
}

export function isCommandType(type: string): boolean {
    return type === resourceTypes.localCommand || type === resourceTypes.remoteCommand;
}

/** Stacks held to the production rules: their name starts with "prod" (prod, prod-eu, production). */
export function isProductionStack(stack: string): boolean {
    return stack.startsWith("prod");
}
