// A rotation job through a short kes outage (sealed, then stopped and started again): see rotation-outage-suite.ts.
import { rotationOutageSuite } from './rotation-outage-suite.js';

rotationOutageSuite(['sealed', 'stopped']);
