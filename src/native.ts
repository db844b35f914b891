/** The host adapter and this OS's constants, for the rest of the core. */

import { native } from "../runtimes/detect.ts";
import { osConstants, type OsConstants } from "../ffi/os.ts";

export { native };
export const C: OsConstants = osConstants(native.os, native.arch);
export const libc = native.libc;
