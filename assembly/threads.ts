// Fork/join over a shared memory (the threaded binaries only: built with `--enable threads`;
// elsewhere ASC_FEATURE_THREADS is false and every fork below compiles away).
//
// One instance (the caller) runs the library; each worker thread runs workerMain() in its own
// instance of the same module over the same memory. They talk through a control block in linear
// memory that TypeScript reserves (src/threads.ts) and whose address every instance receives:
// the module has no mutable data in linear memory (a worker's instantiation rewrites the data
// segments), and its Wasm globals (the pool address, the GEMM scratch) are per instance.
//
// A task is split into chunks that every thread claims from a shared counter: the caller writes
// the task, bumps the generation, claims and computes chunks itself, then waits until all chunks
// are done. A worker that wakes late (or whose core another process holds) therefore finds the
// work already taken instead of holding the caller up. Workers spin on the generation for a while
// after each task (a fork/join then costs well under a microsecond), then park in
// memory.atomic.wait32 (waking one costs ~60 us). The caller spins too, and parks only where its
// thread may block (never on a browser's main thread).
//
// Every split keeps each output element's summation order as in the single-thread code, so
// results are bit-identical whatever the thread count and whichever thread takes a chunk.
//
// The task table is the module's Wasm function table: a kernel forks with its own chunk function
// (a Task), whose table index goes into the control block, and every thread calls that entry
// (call_indirect). Instances of one module have identical tables, so a worker runs the same
// function as the caller, and this file knows no kernel (the kernels import it, not the reverse).

/**
 * Chunk `chunk` of `chunks` of a forked task, run on any thread of the pool. Its arguments are
 * the words the forking kernel wrote with taskArg() (read them with argI32(control, i)).
 */
export type Task = (control: usize, chunk: i32, chunks: i32) => void;

// Control block (byte offsets); hot words on their own cache lines. Keep in sync with src/threads.ts.
const C_GEN = 0; // task generation; parked workers wait on this word
const C_SLEEPERS = 64; // workers parked in wait32
const C_CLAIM = 128; // (chunks << 12) | next chunk to claim
const C_DONE = 192; // chunks finished
const C_DONE_SLEEPERS = 196; // 1 while the caller is parked waiting for C_DONE
const C_THREADS = 256; // threads in use (1: no fork), set by TypeScript
const C_SPIN = 260; // spin iterations of a worker before it parks, set by TypeScript
const C_STOP = 264; // 1: workers return from workerMain at the next generation
const C_CALLER_WAITS = 268; // 1: the caller's thread may block (not a browser's main thread)
const C_FORKS = 272; // tasks forked so far (a statistic for tests and benchmarks)
const C_DEAD = 276; // set (by the worker's JavaScript) when a worker died: no more forks
const C_TASK = 320; // the task's function table index, then its arguments (i32 words)
const CONTROL_BYTES: usize = 448;
const MAX_CHUNKS: i32 = 4095;

// The caller's pool (0 in workers and when single-threaded) and whether it is inside a fork (its
// chunks must not fork again). Wasm globals: one per instance.
let pool: usize = 0;
let forking = false;

/** Bytes of the control block setThreadPool / workerMain expect (64-byte aligned). */
export function threadControlSize(): usize {
  return CONTROL_BYTES;
}

/** Makes this instance the caller of a pool (0: none). */
export function setThreadPool(control: usize): void {
  pool = control;
}

/** Threads a fork may use now (1 when there is no pool, inside a chunk, or in a worker). */
// @ts-ignore: decorator
@inline
export function threadsAvailable(): i32 {
  if (ASC_FEATURE_THREADS) {
    if (pool == 0 || forking || atomic.load<i32>(pool + C_DEAD) != 0) return 1;
    return max(1, atomic.load<i32>(pool + C_THREADS));
  }
  return 1;
}

/**
 * First index of chunk `i` of `chunks` over m items: an even split. For a few dozen rows this
 * balances best (64 = 32 + 32 = 30 packed + a 2 x 16 pair each, vs 30 | 30 + 4).
 */
export function evenBound(m: i32, i: i32, chunks: i32): i32 {
  return i >= chunks ? m : <i32>(<i64>m * i / chunks);
}

/** Address of task argument word i, to be written before fork(). */
// @ts-ignore: decorator
@inline
export function taskArg(i: i32): usize {
  return pool + C_TASK + 4 + (<usize>i << 2);
}

/** Task argument word i, read inside a chunk. */
// @ts-ignore: decorator
@inline
export function argI32(control: usize, i: i32): i32 {
  return load<i32>(control + C_TASK + 4 + (<usize>i << 2));
}

/**
 * Runs `chunks` chunks of `task`, whose arguments were written with taskArg(), on the pool's
 * threads, this one included. Only call after threadsAvailable() returned > 1.
 */
export function fork(task: Task, chunks: i32): void {
  if (ASC_FEATURE_THREADS) {
    const control = pool;
    chunks = min(chunks, MAX_CHUNKS);
    store<i32>(control + C_TASK, task.index);
    store<i32>(control + C_FORKS, load<i32>(control + C_FORKS) + 1);
    atomic.store<i32>(control + C_DONE, 0);
    atomic.store<i32>(control + C_CLAIM, chunks << 12);
    atomic.add<i32>(control + C_GEN, 1);
    if (atomic.load<i32>(control + C_SLEEPERS) > 0) atomic.notify(control + C_GEN, -1);
    forking = true;
    runChunks(control);
    forking = false;
    join(control, chunks);
  }
}

// fork keeps its own copy of the start rather than calling forkBackground + finishBackground:
// with those two calls in its place the 2-thread matmul test computed wrong values in 3 of 19
// runs (none in 22 with this copy), so some timing-dependent race in the pool remains to be found.

/**
 * Starts the chunks of `task`, whose arguments were written with taskArg(), on the workers and
 * returns at once, so this thread can do other work (JavaScript) meanwhile; finishBackground()
 * then takes the chunks still unclaimed and waits for the rest. In between, every kernel on this
 * thread runs single-threaded (the pool is busy). Only call after threadsAvailable() returned > 1.
 */
export function forkBackground(task: Task, chunks: i32): void {
  if (ASC_FEATURE_THREADS) {
    const control = pool;
    chunks = min(chunks, MAX_CHUNKS);
    store<i32>(control + C_TASK, task.index);
    store<i32>(control + C_FORKS, load<i32>(control + C_FORKS) + 1);
    atomic.store<i32>(control + C_DONE, 0);
    atomic.store<i32>(control + C_CLAIM, chunks << 12);
    atomic.add<i32>(control + C_GEN, 1);
    if (atomic.load<i32>(control + C_SLEEPERS) > 0) atomic.notify(control + C_GEN, -1);
    forking = true;
  }
}

/** Completes a forkBackground of `chunks` chunks: runs what is left here, then joins. */
export function finishBackground(chunks: i32): void {
  if (ASC_FEATURE_THREADS) {
    const control = pool;
    chunks = min(chunks, MAX_CHUNKS);
    runChunks(control);
    forking = false;
    join(control, chunks);
  }
}

// Waits until every chunk is done: spins, then parks if this thread may block, so a worker that
// lost its core to another process costs a wake-up rather than the rest of a time slice.
function join(control: usize, chunks: i32): void {
  if (ASC_FEATURE_THREADS) {
    const budget = atomic.load<i32>(control + C_SPIN) >> 1;
    const mayWait = atomic.load<i32>(control + C_CALLER_WAITS) != 0;
    let spins = 0;
    while (true) {
      const done = atomic.load<i32>(control + C_DONE);
      if (done >= chunks) return;
      // A worker died holding a chunk (a bug): fail the call rather than wait forever.
      if (atomic.load<i32>(control + C_DEAD) != 0) {
        forking = false;
        unreachable();
      }
      if (spins < budget || !mayWait) {
        spins++;
      } else {
        atomic.store<i32>(control + C_DONE_SLEEPERS, 1);
        memory.atomic.wait32(control + C_DONE, done, 1000000); // 1 ms at most
        atomic.store<i32>(control + C_DONE_SLEEPERS, 0);
      }
    }
  }
}

// Claims and runs chunks until none is left. The claim comes first and the task is read after
// it: the caller rewrites the task only once every chunk of the previous one is done, so a
// successful claim always pairs with the task it belongs to (even for a worker that saw an
// older generation).
function runChunks(control: usize): void {
  if (ASC_FEATURE_THREADS) {
    while (true) {
      const word = atomic.load<i32>(control + C_CLAIM);
      const next = word & 0xfff;
      const chunks = word >>> 12;
      if (next >= chunks) return;
      if (atomic.cmpxchg<i32>(control + C_CLAIM, word, word + 1) != word) continue;
      call_indirect<void>(load<u32>(control + C_TASK), control, next, chunks);
      atomic.add<i32>(control + C_DONE, 1);
      if (atomic.load<i32>(control + C_DONE_SLEEPERS) != 0) atomic.notify(control + C_DONE, 1);
    }
  }
}

/**
 * A worker's whole life: waits for tasks on the pool at `control` and claims chunks of each
 * while its index (1-based) is below the threads in use; returns once TypeScript sets the stop
 * word and bumps the generation.
 */
export function workerMain(control: usize, index: i32): void {
  if (ASC_FEATURE_THREADS) {
    let seen = atomic.load<i32>(control + C_GEN);
    while (true) {
      let gen = atomic.load<i32>(control + C_GEN);
      let spins = 0;
      while (gen == seen) {
        if (spins < atomic.load<i32>(control + C_SPIN)) {
          spins++;
        } else {
          atomic.add<i32>(control + C_SLEEPERS, 1);
          memory.atomic.wait32(control + C_GEN, seen, -1);
          atomic.sub<i32>(control + C_SLEEPERS, 1);
          spins = 0;
        }
        gen = atomic.load<i32>(control + C_GEN);
      }
      seen = gen;
      if (atomic.load<i32>(control + C_STOP) != 0) return;
      if (index < atomic.load<i32>(control + C_THREADS)) runChunks(control);
    }
  }
}

/** The worker's spin loop alone, `iterations` rounds (TypeScript times it to size C_SPIN). */
export function threadSpinProbe(control: usize, iterations: i32): i32 {
  let s = 0;
  if (ASC_FEATURE_THREADS) {
    for (let i = 0; i < iterations; i++) {
      if (i < atomic.load<i32>(control + C_SPIN)) s++;
      s += atomic.load<i32>(control + C_GEN);
    }
  }
  return s;
}
