// Whole-node simulation, CI budget: 3 members, seeds 1–50 (see simulation-suite.ts).
import { describe } from 'vitest';
import { simulationSuite } from './simulation-suite.js';

describe('whole-node simulation, 3 members', () => {
  simulationSuite({ from: 1, runs: 50, nodes: 3 });
});
