// What `npm start` prints once both processes run: where everything is, the exports the `kes` CLI reads
// (it also finds this state through KESGATE_HOME), and commands to try — plain and HTTPS with SSE-C,
// MinIO's client, health, readiness and metrics, and `kesgate status`.
import { DEFAULT_KEY, localUrl } from './dev-state.js';

export interface BannerInput {
  home: string;
  at(...p: string[]): string;
  user: string;
  password: string;
  kesAddress: string;
  s3Address: string;
  s3TlsAddress: string;
  /** Highlights a line on a terminal. */
  loud(s: string): string;
}

export function banner(b: BannerInput): string {
  const c = (p: string): string => b.at('certs', p);
  const s3 = localUrl(b.s3Address);
  const s3tls = localUrl(b.s3TlsAddress, 'https');
  const kes = localUrl(b.kesAddress, 'https');
  const ssecKey = b.at('ssec.key');
  return `
kesgate is running (development state in ${b.home})
  S3 endpoint     ${s3}   ${s3tls} (CA: ${c('ca.crt')})
  credentials     ${b.user} / ${b.password}   (saved in ${b.at('credentials')})
  console         ${s3}/console/   (sign in with the credentials; its kes identity: ${c('console.crt')})
  kes             ${kes}   admin cert ${c('admin.crt')}
  default key     ${DEFAULT_KEY}
  health          ${s3}/kesgate/health (live)   ${s3}/kesgate/ready (ready: kes unsealed, stores answering)   ${kes}/v1/ready
  metrics         ${s3}/metrics
${b.loud(`  WARNING: the unseal share is stored in ${b.at('unseal.key')} so kes unseals itself. This is for development only.`)}

The kes and kesgate commands find this state through KESGATE_HOME; elsewhere, export:
  export KESGATE_HOME=${b.home}
  export KES_SERVER=${kes} KES_CLIENT_CERT=${c('admin.crt')} KES_CLIENT_KEY=${c('admin.key')} KES_CA=${c('ca.crt')}

Try it:
  export AWS_ACCESS_KEY_ID=${b.user} AWS_SECRET_ACCESS_KEY=${b.password} AWS_DEFAULT_REGION=us-east-1
  /usr/bin/aws --endpoint-url ${s3} s3 mb s3://demo
  /usr/bin/aws --endpoint-url ${s3} s3 cp README.md s3://demo/README.md --sse AES256
  head -c 32 /dev/urandom > ${ssecKey}   # your own SSE-C key: HTTPS only, the gateway never stores it
  /usr/bin/aws --endpoint-url ${s3tls} --ca-bundle ${c('ca.crt')} s3 cp README.md s3://demo/private.md --sse-c AES256 --sse-c-key fileb://${ssecKey}
  mc alias set kesgate ${s3} ${b.user} ${b.password}
  npx kesgate status      # exits 0 ready, 2 kes sealed, 1 error
  npx kes status; npx kes seal; npx kes unseal < ${b.at('unseal.key')}

Ctrl-C stops both.`;
}
