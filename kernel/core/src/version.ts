/** This kernel's version, checked against each plugin's `kernel` range (a unit test keeps it equal to package.json's). */
export const KERNEL_VERSION = '1.0.0'
