// The authorization routes in the shape `openapi-typescript` generates, written by hand until
// src/api/schema.ts is regenerated from a server that serves them (`pnpm gen:api`); then this
// file goes and src/api/authz-api.ts uses `paths` from schema.ts.
import type {
  CheckRequest,
  CreatePolicyRequest,
  Decision,
  DryRunReport,
  DryRunRequest,
  GroupPage,
  Policy,
  PolicyPage,
  PolicyTestReport,
  SavedPolicy,
  RelationshipPage,
  SubjectPage,
  UpdatePolicyRequest,
  WriteRelationshipsAnswer,
  WriteRelationshipsRequest,
} from './authz-contract';

interface Json<T> {
  content: { 'application/json': T };
}

interface Answer<T> extends Json<T> {
  headers: { [name: string]: unknown };
}

interface NoAnswer {
  headers: { [name: string]: unknown };
  content?: never;
}

interface Parameters<Query = never, Path = never, Header = never> {
  query?: Query;
  header?: Header;
  path?: Path;
  cookie?: never;
}

interface Route {
  parameters: Parameters;
  get?: never;
  put?: never;
  post?: never;
  delete?: never;
  options?: never;
  head?: never;
  patch?: never;
  trace?: never;
}

type PolicyPath = { id: string };

export interface AuthzPaths {
  '/api/v1/authz/check': Omit<Route, 'post'> & {
    post: {
      parameters: Parameters;
      requestBody: Json<CheckRequest>;
      responses: { 200: Answer<Decision> };
    };
  };
  '/api/v1/authz/subjects': Omit<Route, 'get'> & {
    get: {
      parameters: { query: { resource: string; action: string }; cookie?: never };
      requestBody?: never;
      responses: { 200: Answer<SubjectPage> };
    };
  };
  '/api/v1/authz/relationships': Omit<Route, 'get' | 'post'> & {
    get: {
      parameters: Parameters<{
        resource_type?: string;
        resource_id?: string;
        relation?: string;
        subject?: string;
        limit?: number;
        cursor?: string;
      }>;
      requestBody?: never;
      responses: { 200: Answer<RelationshipPage> };
    };
    post: {
      parameters: Parameters;
      requestBody: Json<WriteRelationshipsRequest>;
      responses: { 200: Answer<WriteRelationshipsAnswer> };
    };
  };
  '/api/v1/authz/groups': Omit<Route, 'get'> & {
    get: {
      parameters: Parameters<{ limit?: number; cursor?: string }>;
      requestBody?: never;
      responses: { 200: Answer<GroupPage> };
    };
  };
  '/api/v1/authz/policies': Omit<Route, 'get' | 'post'> & {
    get: {
      parameters: Parameters<{ limit?: number; cursor?: string }>;
      requestBody?: never;
      responses: { 200: Answer<PolicyPage> };
    };
    post: {
      parameters: Parameters;
      requestBody: Json<CreatePolicyRequest>;
      responses: { 201: Answer<SavedPolicy> };
    };
  };
  '/api/v1/authz/policies/{id}': Omit<Route, 'get' | 'put' | 'delete'> & {
    get: {
      parameters: { path: PolicyPath; query?: never; header?: never; cookie?: never };
      requestBody?: never;
      responses: { 200: Answer<Policy> };
    };
    put: {
      parameters: {
        path: PolicyPath;
        header: { 'If-Match': string };
        query?: never;
        cookie?: never;
      };
      requestBody: Json<UpdatePolicyRequest>;
      responses: { 200: Answer<SavedPolicy> };
    };
    delete: {
      parameters: {
        path: PolicyPath;
        header?: { 'If-Match'?: string };
        query?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: { 204: NoAnswer };
    };
  };
  '/api/v1/authz/policies/{id}/test': Omit<Route, 'post'> & {
    post: {
      parameters: { path: PolicyPath; query?: never; header?: never; cookie?: never };
      requestBody?: never;
      responses: { 200: Answer<PolicyTestReport> };
    };
  };
  '/api/v1/authz/policies/dry-run': Omit<Route, 'post'> & {
    post: {
      parameters: Parameters;
      requestBody: Json<DryRunRequest>;
      responses: { 200: Answer<DryRunReport> };
    };
  };
}
