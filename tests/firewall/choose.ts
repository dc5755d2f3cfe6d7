import { Deployment, DirectDeployment, HarnessDeployment } from "./deploy";

/** The deployment the suite drives. */
export function chooseDeployment(): Deployment {
    return process.env.RFWT_DIRECT === "1" ? new DirectDeployment() : new HarnessDeployment();
}
