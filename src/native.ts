/** The host adapter and this OS's constants, for the rest of the core. */

import { native } from "../runtimes/detect.ts";
import { osConstants } from "../ffi/os.ts";

export { native };
export const C = osConstants(native.os, native.arch);
export const libc = native.libc;
