import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/server';
import { SCOPES } from '../../keys/types.js';

export const MCP_PATH = '/mcp';
const PRM_ROOT_PATH = '/.well-known/oauth-protected-resource';
/** RFC 9728 path-suffixed form (what MCP clients derive from `/mcp`) and the root form. */
export const PRM_PATHS: readonly string[] = [PRM_ROOT_PATH, `${PRM_ROOT_PATH}${MCP_PATH}`];

export interface ResourceDescription {
  readonly resourceName: string;
  readonly docsUrl?: string;
}

/** Absolute URL of the metadata document, for `WWW-Authenticate: Bearer resource_metadata=…`. */
export function resourceMetadataUrl(origin: string): string {
  return getOAuthProtectedResourceMetadataUrl(new URL(MCP_PATH, origin));
}

/**
 * RFC 9728 Protected Resource Metadata. `authorization_servers` is omitted on purpose: keys are
 * static API keys issued out of band by `futucli gen-key`, and there is no authorization server
 * to discover. That is a non-OAuth profile of the MCP authorization spec (which wants at least
 * one entry); an OAuth-capable client that starts discovery after a 401 stops here instead of
 * being sent to a server that cannot issue these keys.
 */
export function protectedResourceMetadata(origin: string, description: ResourceDescription): Record<string, unknown> {
  return {
    resource: new URL(MCP_PATH, origin).href,
    bearer_methods_supported: ['header'],
    scopes_supported: [...SCOPES],
    resource_name: description.resourceName,
    ...(description.docsUrl !== undefined && { resource_documentation: description.docsUrl }),
  };
}
