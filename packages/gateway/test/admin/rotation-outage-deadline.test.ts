// A kes outage longer than a rotation job waits: the job ends incomplete; see rotation-outage-suite.ts.
import { rotationOutageSuite } from './rotation-outage-suite.js';

rotationOutageSuite(['too-long']);
