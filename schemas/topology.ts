import { z } from 'zod';
import { ServiceName } from './common.js';

/** The CMDB file: `{services: [{name, owner?, tier?, tags?, depends_on?}]}` in YAML or JSON. */
export const TopologyService = z.object({
  name: ServiceName,
  owner: z.string().optional(),
  tier: z.string().optional(),
  tags: z.array(z.string()).optional(),
  depends_on: z.array(ServiceName).optional(),
});
export type TopologyService = z.infer<typeof TopologyService>;

export const TopologyFile = z.object({ services: z.array(TopologyService) });
export type TopologyFile = z.infer<typeof TopologyFile>;

/** A call edge: `from` calls (depends on) `to`. */
export const Edge = z.tuple([ServiceName, ServiceName]);
export type Edge = z.infer<typeof Edge>;
