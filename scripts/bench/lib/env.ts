// Settings of the benchmarks and the load test, from the environment, refused clearly when malformed.

/** A positive number from `name` (default `dflt`); `integer` refuses fractions too. */
export function positiveEnv(name: string, dflt: number, integer = false): number {
  const v = Number(process.env[name] ?? dflt);
  if (!(integer ? Number.isInteger(v) : Number.isFinite(v)) || v <= 0) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}; got ${process.env[name]}`);
  }
  return v;
}
