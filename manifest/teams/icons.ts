/**
 * Deputy's Teams icons, drawn in code: a PowerShell prompt ">_".
 * - color.png: 192×192, white prompt on the accent colour.
 * - outline.png: 32×32, the prompt in white on a transparent background (Teams' rule).
 * Edges are anti-aliased by supersampling the shapes' coverage.
 */
import { encodePng } from './png.ts';

export const ACCENT_COLOR = '#1F4E79';
export const COLOR_ICON_SIZE = 192;
export const OUTLINE_ICON_SIZE = 32;

type Point = readonly [number, number];
interface Stroke {
  from: Point;
  to: Point;
}

/** The prompt in a unit square: a chevron and an underscore, as round-capped strokes. */
const PROMPT: readonly Stroke[] = [
  { from: [0.26, 0.3], to: [0.48, 0.5] },
  { from: [0.48, 0.5], to: [0.26, 0.7] },
  { from: [0.56, 0.7], to: [0.76, 0.7] },
];
const STROKE_WIDTH = 0.1;
const SUPERSAMPLE = 4;

function distanceToSegment([px, py]: Point, { from: [ax, ay], to: [bx, by] }: Stroke): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Fraction of the pixel (x, y) of a size×size image that the prompt covers. */
function coverage(x: number, y: number, size: number): number {
  let inside = 0;
  for (let sy = 0; sy < SUPERSAMPLE; sy++) {
    for (let sx = 0; sx < SUPERSAMPLE; sx++) {
      const point: Point = [(x + (sx + 0.5) / SUPERSAMPLE) / size, (y + (sy + 0.5) / SUPERSAMPLE) / size];
      if (PROMPT.some((stroke) => distanceToSegment(point, stroke) <= STROKE_WIDTH / 2)) inside++;
    }
  }
  return inside / (SUPERSAMPLE * SUPERSAMPLE);
}

function hexColor(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

export function drawColorIcon(size = COLOR_ICON_SIZE): Buffer {
  const [r, g, b] = hexColor(ACCENT_COLOR);
  const rgba = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = coverage(x, y, size);
      const i = (y * size + x) * 4;
      rgba[i] = Math.round(r + (255 - r) * c);
      rgba[i + 1] = Math.round(g + (255 - g) * c);
      rgba[i + 2] = Math.round(b + (255 - b) * c);
      rgba[i + 3] = 255;
    }
  }
  return encodePng(size, size, rgba);
}

export function drawOutlineIcon(size = OUTLINE_ICON_SIZE): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      rgba[i] = 255;
      rgba[i + 1] = 255;
      rgba[i + 2] = 255;
      rgba[i + 3] = Math.round(255 * coverage(x, y, size));
    }
  }
  return encodePng(size, size, rgba);
}
