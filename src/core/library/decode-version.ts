// How pixels are decoded is part of what a stored feature means: a decode fix that changes the
// pixels the backbone sees bumps this, the backbone id changes with it, and older features are
// recomputed instead of being mixed with new ones.
// 2: alpha flattened over white (was: colours washed out by a premultiplied round trip).
export const DECODE_VERSION = 2
