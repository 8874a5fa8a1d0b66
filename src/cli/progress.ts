/**
 * A one-line progress bar for long commands. On a terminal it redraws in place (at most ~10
 * times a second); elsewhere (CI logs, pipes) it prints a plain line every few seconds, so logs
 * stay readable and short.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  /** Redraw in place. Default: whether the stream is a terminal. */
  tty?: boolean;
  /** Characters of the bar itself. Default 24. */
  width?: number;
  /** Minimum time between plain (non-terminal) lines. Default 5000 ms. */
  plainIntervalMs?: number;
}

export class ProgressBar {
  private readonly tty: boolean;
  private readonly width: number;
  private readonly plainIntervalMs: number;
  private lastDraw = -Infinity;
  private lastLength = 0;
  private finished = false;

  constructor(
    private readonly stream: ProgressStream,
    options: ProgressBarOptions = {},
  ) {
    this.tty = options.tty ?? stream.isTTY === true;
    this.width = options.width ?? 24;
    this.plainIntervalMs = options.plainIntervalMs ?? 5000;
  }

  /** Shows `fraction` (0..1) done and the status text; `force` draws even if one was just drawn. */
  update(fraction: number, text: string, force = false): void {
    if (this.finished) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < (this.tty ? 100 : this.plainIntervalMs)) return;
    this.lastDraw = now;
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    if (!this.tty) {
      this.stream.write(`${pct}  ${text}\n`);
      return;
    }
    // A pseudo-terminal without a size reports 0 columns: then the width is unknown.
    const cols = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : undefined;
    // The bar gives up width before the text does: "[", "] ", the percentage and two spaces take 9.
    const width = cols === undefined ? this.width : Math.max(5, Math.min(this.width, cols - 1 - 9 - text.length));
    const filled = Math.round(f * width);
    let line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${pct}  ${text}`;
    // A line wider than the terminal wraps, and \r would then only redraw its last row.
    if (cols !== undefined && line.length >= cols) line = line.slice(0, cols - 1);
    this.stream.write(`\r${line}${" ".repeat(Math.max(0, this.lastLength - line.length))}`);
    this.lastLength = line.length;
  }

  /** Draws the final state and ends the line. */
  done(fraction: number, text: string): void {
    this.update(fraction, text, true);
    if (this.tty && !this.finished) this.stream.write("\n");
    this.finished = true;
  }
}

/** 75 s -> "1:15", 3725 s -> "1:02:05". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "--:--";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** 950 -> "950", 12345 -> "12.3k", 2.5e6 -> "2.50M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "?";
  if (n < 1000) return n.toFixed(0);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 2 : 1)}k`;
  return `${(n / 1e6).toFixed(2)}M`;
}
