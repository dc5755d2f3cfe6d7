import { Deployment, DirectDeployment } from "./deploy";

/** The deployment the suite drives. */
export function chooseDeployment(): Deployment {
    return new DirectDeployment();
}
