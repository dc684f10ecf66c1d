// The relations and actions of each object type, as the server's schema declares them
// (crates/authz/src/schema.rs): what the access panel offers.
import type { Action, Relation } from '@/api/authz-contract';

export interface AccessSchema {
  relations: readonly Relation[];
  actions: readonly Action[];
}

export const connector_access: AccessSchema = {
  relations: ['owner', 'editor', 'viewer'],
  actions: ['view', 'edit', 'test', 'delete', 'manage'],
};

export const mapping_access: AccessSchema = {
  relations: ['owner', 'editor', 'viewer'],
  actions: ['view', 'edit', 'delete', 'manage'],
};

export const flow_access: AccessSchema = {
  relations: ['owner', 'editor', 'operator', 'viewer'],
  actions: ['view', 'run', 'edit', 'delete', 'manage'],
};
