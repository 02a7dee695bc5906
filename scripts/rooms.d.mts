// Types of scripts/rooms.mjs, for test/unit/rooms.test.ts.
export interface Room {
  name: string;
  folder: string;
  job: string;
  imports: string[];
  vscode: boolean;
  door: string | undefined;
}
export const root: string;
export function readRooms(file?: string): Room[];
export function roomOf(rooms: Room[], file: string): Room | undefined;
export function forbidden(rooms: Room[], from: string, target: string): string | undefined;
export function importsOf(file: string): string[];
export function sourceFiles(dir?: string): string[];
export function findCircles(graph: Map<string, string[]>): string[][];
export function moduleFile(target: string): string;
