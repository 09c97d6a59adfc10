/**
 * The names of the weight maps (`maps.ts`), apart from their code: the pipeline schema and the
 * CLI's flag table read them without loading tensors or Effect.
 */
export const WEIGHT_MAPS = ["none", "torchvision-vgg16", "organseg-fcn8s", "organseg-rstn"] as const
export type WeightMap = (typeof WEIGHT_MAPS)[number]
