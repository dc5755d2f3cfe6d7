import * as pulumi from "@pulumi/pulumi";
import { PolicyPack } from "@pulumi/policy";
import { registryPolicies } from "./policies";

// Pulumi runs the pack with the stack under analysis in PULUMI_NODEJS_STACK, which getStack() reads.
new PolicyPack("private-registry", {
    enforcementLevel: "mandatory",
    policies: registryPolicies(() => pulumi.getStack()),
});
