// jsfive ships no type declarations; recur uses File and reads groups and datasets through the
// structural types in files.ts.
declare module "jsfive" {
  export class File {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
}
