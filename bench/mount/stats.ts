/** Percentiles, as the mount bench reports them. */
import { type Percentiles, percentiles } from "../util.ts";

export type Stats = Percentiles;
export const stats = percentiles;
export const median = (values: number[]) => stats(values).p50;
