/**
 * @module policy/kinds/use
 * `use: NAME`: the tree of another policy record of the same zone, compiled again for this
 * record's type (docs/policies/README.md "The tree"). It has no node of its own: the walk
 * (policy/compile.ts) resolves the name, prefers the record of the same type, and rejects loops.
 */
import { Type } from '@sinclair/typebox';
import type { PolicyKind } from '../types.js';

export const use: PolicyKind<string> = {
  name: 'use',
  schema: () => Type.String({ minLength: 1, description: 'The name of another policy record of this zone whose tree to use here.' }),
  compile: (name, at, c) => c.use(name, at),
};
