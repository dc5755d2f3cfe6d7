/**
 * The pack's policies: each picks the components' resources by type and URN and calls a pure
 * check. Kept apart from index.ts, which starts the policy server, so tests can run them directly.
 */
import type {
    ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";
import { checkSshNotOpenToWorld, missingFirewallProblems } from "./firewallChecks";
import {
    checkDataVolumeProtected, checkDebugPortNotPublic, checkImagePinned, checkRegistryAuth, checkRegistryTls,
} from "./registryChecks";
import { componentTypes, isCommandType, isWithin, resourceTypes } from "./resources";

export type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

type ResourceCheck = (args: ResourceValidationArgs) => string | undefined;

/** Runs `check` on resources of `type` that sit inside a `componentType` component. */
function validateWithin(type: string | ((type: string) => boolean), componentType: string, check: ResourceCheck) {
    return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
        const typeMatches = typeof type === "string" ? args.type === type : type(args.type);
        if (!typeMatches || !isWithin(args.urn, args.type, componentType)) return;
        const message = check(args);
        if (message !== undefined) reportViolation(message);
    };
}

/**
 * The policies, all mandatory. `stackName` is read when a policy runs (the pack passes
 * pulumi.getStack(); tests pass a name).
 */
export function registryPolicies(stackName: () => string): (ResourceValidationPolicy | StackValidationPolicy)[] {
    return [
        {
            name: "registry-image-pinned-by-digest",
            description: "The registry image is pinned by digest (name@sha256:…), so a re-pushed tag cannot change what runs.",
            enforcementLevel: "mandatory",
            validateResource: validateWithin(resourceTypes.remoteImage, componentTypes.server, (args) => checkImagePinned(args.props)),
        },
        {
            name: "registry-tls-minimum-1-2",
            description: "The registry's config.yml serves TLS 1.2 or newer with a certificate and key.",
            enforcementLevel: "mandatory",
            validateResource: validateWithin(resourceTypes.container, componentTypes.server, (args) => checkRegistryTls(args.props)),
        },
        {
            name: "registry-authentication",
            description: "The registry's config.yml authenticates clients (auth.htpasswd or auth.token).",
            enforcementLevel: "mandatory",
            validateResource: validateWithin(resourceTypes.container, componentTypes.server, (args) => checkRegistryAuth(args.props)),
        },
        {
            name: "registry-data-protected-in-prod",
            description: "In stacks named prod*, the registry's data volume is protected from deletion.",
            enforcementLevel: "mandatory",
            validateResource: validateWithin(resourceTypes.volume, componentTypes.storage, (args) => checkDataVolumeProtected(args.opts, stackName())),
        },
        {
            name: "registry-firewall-in-prod",
            description: "In stacks named prod*, every registry has its host firewall (a RegistryFirewall command).",
            enforcementLevel: "mandatory",
            validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
                const resources = args.resources.map((r) => ({ type: r.type, urn: r.urn, parent: r.parent?.urn }));
                for (const problem of missingFirewallProblems(resources, stackName())) reportViolation(problem.message, problem.urn);
            },
        },
        {
            name: "registry-firewall-ssh-not-open",
            description: "The host firewall lets no source range that covers all addresses (0.0.0.0/0, ::/0) reach SSH.",
            enforcementLevel: "mandatory",
            validateResource: validateWithin(isCommandType, componentTypes.firewall, (args) => checkSshNotOpenToWorld(args.props)),
        },
        {
            name: "registry-debug-port-not-public",
            description: "The registry's debug/metrics port (5001 in the container) is published on a loopback or private address at most.",
            enforcementLevel: "mandatory",
            validateResource: validateWithin(resourceTypes.container, componentTypes.server, (args) => checkDebugPortNotPublic(args.props)),
        },
    ];
}
