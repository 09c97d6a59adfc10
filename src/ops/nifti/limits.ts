/**
 * Limits on what a NIfTI reader accepts, in a module of their own (no imports) so the CLI can
 * show them in `rstn inspect --help` without loading the codec.
 */

/**
 * Default limit on voxels per image: 2^29 (536,870,912), e.g. 512x512x2048. The largest pancreas
 * CT (rstn-reference.md: Data, 512x512x466) is a quarter of it; at the limit a float32 volume is
 * 2 GiB, which a 24 GiB machine holds with room for the network. Raise it per call (maxVoxels,
 * `--max-voxels`) for larger images.
 */
export const DEFAULT_MAX_VOXELS = 2 ** 29
