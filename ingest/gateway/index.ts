import { LOOPBACK, checkHost } from '../../core/auth/index.js';
import { portFromEnv } from '../../core/ops.js';

/**
 * The HTTP gateway's stage side: request handling and validation (http.ts), publishing through whatever `Publish`
 * it is given. The Kafka producer behind `nightshift gateway` is the transport's (pipeline/kafka/gateway.ts).
 */
export { GatewayHandler, ROUTES, type GatewayOptions, type Publish } from './http.js';

export const DEFAULT_GATEWAY_PORT = 8080;

export function gatewayHostFromEnv(env: NodeJS.ProcessEnv, fallback = LOOPBACK): string {
  const v = env.NIGHTSHIFT_GATEWAY_HOST;
  return v === undefined || v === '' ? fallback : checkHost(v, 'NIGHTSHIFT_GATEWAY_HOST');
}

export function gatewayPortFromEnv(env: NodeJS.ProcessEnv, fallback = DEFAULT_GATEWAY_PORT): number {
  return portFromEnv(env, 'NIGHTSHIFT_GATEWAY_PORT', fallback);
}

