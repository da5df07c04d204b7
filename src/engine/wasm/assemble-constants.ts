/** 4 GiB: the most a wasm32 memory can address (the kernels' memory maximum, in 64 KiB pages). */
export const MAX_PAGES = 65536;
