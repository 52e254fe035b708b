/** Where the Electron binary is, or null when its download failed or was skipped. */
export function electronBinary(): string | null
