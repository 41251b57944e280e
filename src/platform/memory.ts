// An in-memory platform: the core's behaviour under test, with everything it said and set recorded.
import type { JobContext, Platform } from './platform.js';

export interface MemoryPlatform extends Platform {
  outputs: Record<string, string>;
  exported: Record<string, string>;
  /** Directories added to PATH, in the order added. */
  paths: string[];
  masked: string[];
  messages: { level: 'info' | 'warning' | 'error' | 'debug'; text: string }[];
  summary: string;
  failed?: string;
  stateValues: Map<string, string>;
  inputs: Partial<Record<string, string>>;
}

export function memoryPlatform(options: { inputs?: Partial<Record<string, string>>; job?: Partial<JobContext>; env?: Record<string, string> } = {}): MemoryPlatform {
  const platform: MemoryPlatform = {
    name: 'memory',
    outputs: {},
    exported: {},
    paths: [],
    masked: [],
    messages: [],
    summary: '',
    stateValues: new Map(),
    inputs: { ...options.inputs },
    log: {
      info: (text) => platform.messages.push({ level: 'info', text }),
      warning: (text) => platform.messages.push({ level: 'warning', text }),
      error: (text) => platform.messages.push({ level: 'error', text }),
      debug: (text) => platform.messages.push({ level: 'debug', text }),
    },
    state: {
      get: (key) => platform.stateValues.get(key) ?? '',
      set: (key, value) => void platform.stateValues.set(key, value),
    },
    job: { runId: '1', runAttempt: '1', job: 'test', name: 'test', matrix: '', ref: { name: 'main', protected: false, fallbacks: [] }, tempDir: '/tmp', workspace: process.cwd(), ...options.job },
    env: { ...options.env },
    input: (name) => platform.inputs[name] ?? '',
    setOutput: (name, value) => void (platform.outputs[name] = value),
    exportVariable: (name, value) => void (platform.exported[name] = value),
    addPath: (dir) => void platform.paths.push(dir),
    mask: (secret) => void platform.masked.push(secret),
    group: async (_title, fn) => fn(),
    appendSummary: async (markdown) => void (platform.summary += markdown),
    cacheService: () => undefined,
    fail: (message) => void (platform.failed = message),
  };
  return platform;
}
