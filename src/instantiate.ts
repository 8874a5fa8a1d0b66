/**
 * Instantiates the Wasm core. The core imports nothing but its memory (runtime "stub", no
 * assertions), so plain WebAssembly does: the package then has no runtime dependency and loads
 * in browsers as plain ESM, where a bare import such as "@assemblyscript/loader" would need an
 * import map (which module workers do not read).
 */
import type { WasmModule } from "./wasm-types.js";

export async function instantiate<T extends Record<string, unknown>>(
  source: ArrayBuffer | ArrayBufferView | Response | WasmModule,
  imports: Record<string, Record<string, unknown>>,
): Promise<{ exports: T }> {
  const wasmImports = imports as WebAssembly.Imports;
  if (source instanceof WebAssembly.Module) {
    const instance = await WebAssembly.instantiate(source, wasmImports);
    return { exports: instance.exports as T };
  }
  let bytes: BufferSource;
  if (typeof Response !== "undefined" && source instanceof Response) {
    // Streaming compilation needs the application/wasm content type; any other server gets the bytes path.
    if (typeof WebAssembly.instantiateStreaming === "function" && source.headers.get("content-type")?.startsWith("application/wasm")) {
      const { instance } = await WebAssembly.instantiateStreaming(source, wasmImports);
      return { exports: instance.exports as T };
    }
    bytes = await source.arrayBuffer();
  } else {
    bytes = source as BufferSource;
  }
  const { instance } = await WebAssembly.instantiate(bytes, wasmImports);
  return { exports: instance.exports as T };
}
