/**
 * The option names a zod schema knows at a path (`heartbeat` → `intervalMs`, `timeoutMs`),
 * so an unknown key at any depth is refused with the name it was probably meant to be.
 * @module
 */
import type { z } from 'zod';
import { didYouMean } from './suggest.js';

interface SchemaInternals {
  _zod?: { def?: { type?: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] } };
}

/** Keys of the object schema(s) reached by `path` (through optional, default, refine, union). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType[] = [schema];
  for (let depth = 0; depth <= path.length; depth++) {
    const objects = current.flatMap(unwrapObjects);
    if (depth === path.length) return [...new Set(objects.flatMap((object) => Object.keys(object._zod?.def?.shape ?? {})))];
    const key = String(path[depth]);
    current = objects.map((object) => object._zod?.def?.shape?.[key]).filter((child): child is z.ZodType => child !== undefined);
  }
  return [];
}

function unwrapObjects(schema: z.ZodType): SchemaInternals[] {
  const def = (schema as SchemaInternals)._zod?.def;
  switch (def?.type) {
    case 'object':
      return [schema];
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
      return def.innerType ? unwrapObjects(def.innerType) : [];
    case 'pipe':
      return def.in ? unwrapObjects(def.in) : [];
    case 'union':
      return (def.options ?? []).flatMap(unwrapObjects);
    default:
      return [];
  }
}

/** `unknown option \`intervalMS\` (did you mean \`intervalMs\`?); known: intervalMs, timeoutMs` */
export function explainUnknownKeys(keys: readonly string[], known: readonly string[]): string {
  const list = known.length > 0 ? `; known: ${known.join(', ')}` : '';
  return keys.map((key) => `unknown option \`${key}\`${didYouMean(key, known)}`).join(', ') + list;
}
