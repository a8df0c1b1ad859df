// The AWS CLI against the cluster layout: two gateways on one PostgreSQL database and one upstream bucket
// (moto), behind a round-robin balancer, with one kes. Part of `npm run test:awscli`.
import { clusterToolLayout } from '../helpers/tool-layouts.js';
import { describeAwsCliSuite } from './aws-cli-suite.js';

describeAwsCliSuite(clusterToolLayout);
