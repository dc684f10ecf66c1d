import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const app_dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const repo_root = path.resolve(app_dir, '../..');
export const dist_dir = path.join(app_dir, 'dist');
export const output_dir = path.join(repo_root, 'test-output');
export const screenshot_dir = path.join(output_dir, 'screenshots');
