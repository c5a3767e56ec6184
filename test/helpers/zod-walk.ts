// Walks a zod (v4) schema tree so contract tests can look for secret() fields anywhere.
import type { z } from 'zod';

interface DefLike {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  out?: z.ZodType;
  getter?: () => z.ZodType;
  valueType?: z.ZodType;
  items?: z.ZodType[];
}

export function* walkSchema(
  schema: z.ZodType,
  path = '$',
  seen = new Set<z.ZodType>(),
): Generator<[string, z.ZodType]> {
  if (seen.has(schema)) return;
  seen.add(schema);
  yield [path, schema];
  const def = (schema as unknown as { _zod: { def: DefLike } })._zod.def;
  for (const [key, child] of Object.entries(def.shape ?? {}))
    yield* walkSchema(child, `${path}.${key}`, seen);
  const children: [string, z.ZodType | undefined][] = [
    ['[]', def.element],
    ['', def.innerType],
    ['<in>', def.in],
    ['<out>', def.out],
    ['{}', def.valueType],
    ['<lazy>', def.getter?.()],
  ];
  for (const [suffix, child] of children) if (child) yield* walkSchema(child, path + suffix, seen);
  for (const [i, option] of (def.options ?? def.items ?? []).entries())
    yield* walkSchema(option, `${path}|${i}`, seen);
}
