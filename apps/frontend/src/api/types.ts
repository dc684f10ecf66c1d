// Friendly names for the generated OpenAPI types (src/api/schema.ts).
import type { components } from './schema';

type Schemas = components['schemas'];

export type WhoAmI = Schemas['WhoAmI'];
export type Role = Schemas['Role'];
export type Problem = Schemas['Problem'];
export type FieldError = Schemas['FieldError'];
