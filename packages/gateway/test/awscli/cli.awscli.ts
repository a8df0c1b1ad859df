// The AWS CLI (Debian's awscli 2.x) against a real kes and one gateway on the embedded layout (SQLite +
// files). Not part of `npm test` (it needs /usr/bin/aws): `npm run test:awscli`; .ci/run installs awscli.
import { embeddedToolLayout } from '../helpers/tool-layouts.js';
import { describeAwsCliSuite } from './aws-cli-suite.js';

describeAwsCliSuite(embeddedToolLayout);
