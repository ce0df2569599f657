// Whole-node simulation, CI budget: 3 members, seeds 51–100 (see simulation-suite.ts).
import { describe } from 'vitest';
import { simulationSuite } from './simulation-suite.js';

describe('whole-node simulation, 3 members', () => {
  simulationSuite({ from: 51, runs: 50, nodes: 3 });
});
